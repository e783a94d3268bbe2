"""What RUN instructions do, read from their shell text: commands, package installs, downloads.

The text is split the way a POSIX shell splits it, as far as these checks need: quotes, escapes,
``$(...)``, backquotes, ``${...}`` and ``<(...)`` stay inside their word; commands end at ``;``,
``&``, ``&&``, ``||``, new lines and parentheses, and ``|`` joins them into pipelines;
redirections are dropped, and a heredoc's body belongs to the command that reads it. The command
strings of ``sh -c``/``su -c`` and the heredocs a shell reads are scripts too, read the same way.
No shell parser is worth its weight here: loops and conditions are just more commands.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Words that start a command without being it (shell keywords and plain prefixes).
_KEYWORDS = frozenset(
    {"exec", "time", "nohup", "command", "then", "do", "else", "elif", "if", "while", "until",
     "!", "{", "("}
)  # fmt: skip
_REDIRECT = re.compile(r"<<-|<<<|<<|>>|>&|<&|>\||<>|&>>|&>|>|<")
_SUDO_VALUED = frozenset("ugpCDhrtTU")  # sudo's short options that take a value
_CURL_VALUED = frozenset("AbcCdDeEFHKmPQrtTuUwxXyYz")  # curl's, apart from -o
_STDOUT = ("-", "/dev/stdout")
_DEPTH = 4  # how deep sh -c strings and heredocs fed to shells are followed


@dataclass
class Command:
    """One simple command of a shell script: its words and the heredocs it reads."""

    words: list[str] = field(default_factory=list)
    heredocs: list[str] = field(default_factory=list)  # bodies of the heredocs it reads


class _Lexer:
    """Splits a script into pipelines of commands (words with quotes removed)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0
        self.pipelines: list[list[Command]] = [[Command()]]
        self.word: list[str] | None = None
        self.next_word = ""  # "target" (of a redirection), "heredoc" or "heredoc-" (<<-)
        self.pending: list[tuple[str, bool, Command]] = []  # heredocs awaiting their body

    def run(self) -> list[list[Command]]:
        while self.pos < len(self.text):
            self._step()
        self._end_word()
        return [[c for c in p if c.words] for p in self.pipelines if any(c.words for c in p)]

    def _step(self) -> None:
        text, pos = self.text, self.pos
        char = text[pos]
        if char == "\\":
            self._escaped()
        elif char in "'\"":
            self._quoted(char)
        elif text.startswith(("$(", "${"), pos) or (
            self.word is None and text.startswith(("<(", ">("), pos)
        ):
            self._add(self._balanced(pos))
        elif char == "`":
            self._add(self._backquoted(pos))
        elif char == "#" and self.word is None:
            end = text.find("\n", pos)
            self.pos = len(text) if end < 0 else end
        elif char == "\n":
            self._end_word()
            self.pos += 1
            self._heredoc_bodies()
            self._separate()
        elif char in " \t\r":
            self._end_word()
            self.pos += 1
        else:
            self._operator_or_char(char)

    def _operator_or_char(self, char: str) -> None:
        text, pos = self.text, self.pos
        if char in "<>" or text.startswith("&>", pos):
            if self.word is not None and "".join(self.word).isdigit():
                self.word = None  # the file descriptor of a redirection
            self._end_word()
            match = _REDIRECT.match(text, pos)
            assert match is not None
            operator = match.group(0)
            self.next_word = {"<<": "heredoc", "<<-": "heredoc-"}.get(operator, "target")
            self.pos = match.end()
        elif text.startswith(("&&", "||", ";;"), pos) or char in ";&()":
            self.pos += 2 if text.startswith(("&&", "||", ";;"), pos) else 1
            self._separate()
        elif char == "|":
            self._end_word()
            self.pos += 2 if text.startswith("|&", pos) else 1
            self.pipelines[-1].append(Command())
        else:
            self._add(char)
            self.pos += 1

    def _escaped(self) -> None:
        following = self.text[self.pos + 1 : self.pos + 2]
        self.pos += 2
        if following != "\n":  # a backslash before a new line continues the line
            self._add(following)

    def _quoted(self, quote: str) -> None:
        self.pos += 1
        self._add("")
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            char = self.text[self.pos]
            if (
                quote == '"'
                and char == "\\"
                and self.text[self.pos + 1 : self.pos + 2] in '$`"\\\n'
            ):
                self._escaped()
            elif quote == '"' and self.text.startswith(("$(", "${"), self.pos):
                self._add(self._balanced(self.pos))
            elif quote == '"' and char == "`":
                self._add(self._backquoted(self.pos))
            else:
                self._add(char)
                self.pos += 1
        self.pos += 1

    def _balanced(self, start: int) -> str:
        """``$(...)``, ``${...}`` or ``<(...)`` from ``start``, as written."""
        closing = "}" if self.text[start + 1] == "{" else ")"
        depth, pos, quote = 0, start + 1, ""
        while pos < len(self.text):
            char = self.text[pos]
            if quote:
                quote = "" if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "\\":
                pos += 1
            elif char == self.text[start + 1]:
                depth += 1
            elif char == closing:
                depth -= 1
                if depth == 0:
                    break
            pos += 1
        self.pos = pos + 1
        return self.text[start : self.pos]

    def _backquoted(self, start: int) -> str:
        end = start + 1
        while end < len(self.text) and self.text[end] != "`":
            end += 2 if self.text[end] == "\\" else 1
        self.pos = end + 1
        return self.text[start : self.pos]

    def _add(self, text: str) -> None:
        if self.word is None:
            self.word = []
        self.word.append(text)

    def _end_word(self) -> None:
        if self.word is None:
            return
        word, self.word = "".join(self.word), None
        if self.next_word.startswith("heredoc"):
            self.pending.append((word, self.next_word == "heredoc-", self.pipelines[-1][-1]))
        elif not self.next_word:
            self.pipelines[-1][-1].words.append(word)
        self.next_word = ""

    def _separate(self) -> None:
        self._end_word()
        self.pipelines.append([Command()])

    def _heredoc_bodies(self) -> None:
        """After a new line, the bodies of the heredocs opened on the line before."""
        for delimiter, tabs, command in self.pending:
            lines: list[str] = []
            while self.pos < len(self.text):
                end = self.text.find("\n", self.pos)
                end = len(self.text) if end < 0 else end
                line = self.text[self.pos : end]
                self.pos = end + 1
                if (line.lstrip("\t") if tabs else line).rstrip("\r") == delimiter:
                    break
                lines.append(line)
            command.heredocs.append("\n".join(lines) + "\n")
        self.pending = []


def join_continuations(script: str) -> str:
    return re.sub(r"\\\r?\n", " ", script)


def parse(script: str) -> list[list[Command]]:
    """The script's pipelines, each a list of commands (fresh lists, the caller's to keep)."""
    return [[Command(list(words), list(docs)) for words, docs in p] for p in _parsed(script)]


Parsed = tuple[tuple[tuple[tuple[str, ...], tuple[str, ...]], ...], ...]


@functools.lru_cache(maxsize=512)
def _parsed(script: str) -> Parsed:
    """Split once per distinct script: several rules read every RUN instruction."""
    return tuple(
        tuple((tuple(c.words), tuple(c.heredocs)) for c in pipeline)
        for pipeline in _Lexer(script).run()
    )


def program(words: list[str]) -> str:
    return words[0].rsplit("/", 1)[-1] if words else ""


def _strip(words: list[str]) -> list[str]:
    """Without leading assignments and shell keywords."""
    index = 0
    while index < len(words) and (_ASSIGNMENT.match(words[index]) or words[index] in _KEYWORDS):
        index += 1
    return words[index:]


def _skip_options(
    rest: list[str], valued: frozenset[str], long_valued: tuple[str, ...]
) -> list[str]:
    """``rest`` after the options of a wrapper command (and their values)."""
    index = 0
    while index < len(rest) and rest[index].startswith("-") and rest[index] != "-":
        word = rest[index]
        if word == "--":
            return rest[index + 1 :]
        if word.startswith("--"):
            index += 2 if word in long_valued else 1
            continue
        letters = word[1:]
        taking = next((p for p, letter in enumerate(letters) if letter in valued), None)
        index += 2 if taking is not None and taking == len(letters) - 1 else 1
    return rest[index:]


def unwrap(words: list[str]) -> list[str]:
    """The command that really runs: without assignments, keywords and wrappers that run
    another command (sudo, doas, env, nice, nohup, ...) and their options."""
    words = _strip(words)
    while words:
        name = program(words)
        if name in ("sudo", "doas"):
            words = _skip_options(words[1:], _SUDO_VALUED, ("--user", "--group", "--prompt"))
        elif name == "env":
            words = _skip_options(words[1:], frozenset("uCS"), ("--unset", "--chdir"))
        elif name == "nice":
            words = _skip_options(words[1:], frozenset("n"), ("--adjustment",))
        elif name == "stdbuf":
            words = _skip_options(words[1:], frozenset("ioe"), ())
        else:
            break
        words = _strip(words)
    return words


def strip_sudo(words: list[str]) -> list[str]:
    return unwrap(words)


def _shell_call(words: list[str]) -> tuple[str | None, str | None, bool]:
    """For a shell: its ``-c`` command string, its script operand, and whether it reads its
    script from standard input (no operand, ``-s``, ``-`` or ``/dev/stdin``)."""
    rest = words[1:]
    if program(words) == "busybox" and rest and rest[0] in SHELLS:
        rest = rest[1:]
    elif program(words) not in SHELLS:
        return None, None, False
    letters, index = "", 0
    while index < len(rest):
        word = rest[index]
        if word in ("--", "-"):
            index += 1
            break
        if word in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            index += 2
        elif word.startswith("--") or (word[:1] in "-+" and len(word) > 1):
            letters += "" if word.startswith("--") else word[1:]
            index += 1
        else:
            break
    operand = rest[index] if index < len(rest) else None
    if "c" in letters:
        return operand, None, False
    return None, operand, "s" in letters or operand is None or operand in ("-", "/dev/stdin")


def command_string(words: list[str]) -> str | None:
    """The command string ``sh -c``, ``su -c`` or ``runuser -c`` runs, if any."""
    if program(words) in ("su", "runuser"):
        for index, word in enumerate(words[1:-1], start=1):
            if word in ("-c", "--command"):
                return words[index + 1]
        return next((w.split("=", 1)[1] for w in words if w.startswith("--command=")), None)
    return _shell_call(words)[0]


def reads_script_from_stdin(words: list[str]) -> bool:
    return _shell_call(words)[2]


def _nested(command: Command) -> list[str]:
    """The scripts a command runs: its ``-c`` string, the heredocs a shell reads."""
    words = unwrap(command.words)
    string = command_string(words)
    scripts = [string] if string is not None else []
    if reads_script_from_stdin(words):
        scripts.extend(command.heredocs)
    return scripts


def commands(script: str, depth: int = 0) -> list[list[str]]:
    """Each simple command the script runs, as words (quotes removed, leading assignments and
    keywords dropped, wrappers such as sudo kept), then those of the scripts it runs."""
    out: list[list[str]] = []
    for pipeline in parse(script):
        for command in pipeline:
            words = _strip(command.words)
            if words:
                out.append(words)
            if depth < _DEPTH:
                for nested in _nested(command):
                    out.extend(commands(nested, depth + 1))
    return out


def downloads_to_stdout(words: list[str]) -> bool:
    """curl or wget writing what it downloads to standard output."""
    words = unwrap(words)
    if program(words) == "curl":
        return _curl_stdout(words[1:])
    if program(words) == "wget":
        return _wget_stdout(words[1:])
    return False


def _curl_stdout(args: list[str]) -> bool:
    stdout, index = True, 0
    while index < len(args):
        word = args[index]
        following = args[index + 1] if index + 1 < len(args) else ""
        if word == "--output":
            stdout, index = following in _STDOUT, index + 1
        elif word.startswith("--output="):
            stdout = word.split("=", 1)[1] in _STDOUT
        elif word in ("--remote-name", "--remote-name-all"):
            stdout = False
        elif word.startswith("-") and not word.startswith("--"):
            for position, letter in enumerate(word[1:], start=1):
                if letter == "O":
                    stdout = False
                elif letter == "o" or letter in _CURL_VALUED:
                    value = word[position + 1 :] or following
                    index += 0 if word[position + 1 :] else 1
                    stdout = value in _STDOUT if letter == "o" else stdout
                    break
        index += 1
    return stdout


def _wget_stdout(args: list[str]) -> bool:
    for index, word in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else ""
        if word == "--output-document":
            return following in _STDOUT
        if word.startswith("--output-document="):
            return word.split("=", 1)[1] in _STDOUT
        if word.startswith("-") and not word.startswith("--") and "O" in word:
            return (word[word.index("O") + 1 :] or following) in _STDOUT
    return False


_SUBSTITUTION = re.compile(r"^(?:\$\((?P<a>.*)\)|`(?P<b>.*)`|<\((?P<c>.*)\))$", re.DOTALL)


def _substitutes_download(word: str) -> bool:
    """A ``$(...)``, backquoted or ``<(...)`` word whose command downloads to its output."""
    match = _SUBSTITUTION.match(word.strip())
    if match is None:
        return False
    inner = match.group("a") or match.group("b") or match.group("c") or ""
    return any(downloads_to_stdout(c.words) for p in parse(inner) for c in p)


def _runs_substituted_download(words: list[str]) -> bool:
    """``sh -c "$(curl ...)"``, ``bash <(curl ...)``, ``source <(curl ...)``,
    ``eval "$(curl ...)"``: a shell runs the download without a pipe."""
    words = unwrap(words)
    string, operand, _ = _shell_call(words)
    if string is not None and _substitutes_download(string):
        return True
    if operand is not None and operand.startswith("<(") and _substitutes_download(operand):
        return True
    return program(words) in ("source", ".", "eval") and any(
        _substitutes_download(w) for w in words[1:]
    )


def runs_download(script: str, depth: int = 0) -> bool:
    """Whether the script runs something it downloads, unverified, with a shell: a download
    piped into a shell that reads its script from the pipe (through sudo, env or assignments,
    with ``-s``, ``--`` arguments or ``/dev/stdin``), or run by a shell without a pipe."""
    for pipeline in parse(script):
        downloaded = False
        for command in pipeline:
            words = unwrap(command.words)
            if downloaded and reads_script_from_stdin(words):
                return True
            if _runs_substituted_download(words):
                return True
            downloaded = downloaded or downloads_to_stdout(words)
            if depth < _DEPTH and any(runs_download(s, depth + 1) for s in _nested(command)):
                return True
    return False


def pipes_download_to_shell(script: str) -> bool:
    return runs_download(script)


def is_apt_install(words: list[str]) -> bool:
    rest = unwrap(words)
    return program(rest) in ("apt-get", "apt") and "install" in rest[1:]


def is_apt(words: list[str]) -> bool:
    rest = unwrap(words)
    return program(rest) in ("apt-get", "apt") and any(
        w in ("install", "update", "upgrade", "dist-upgrade") for w in rest[1:]
    )
