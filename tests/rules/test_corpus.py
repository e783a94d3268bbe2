"""The static rules measured against hand-made labels of real public Dockerfiles and compose
files, read by the labels' own conventions, on two corpora: shared/corpus/labels.json and the
repository's own tests/corpus/labels.json (same conventions; its files use the constructs
BuildKit reads in its own way). Fails below 0.98 precision or recall on any label of either;
prints the tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hardening.model import Finding
from hardening.rules import LintInputs, lint
from tests.conftest import shared_dir

CORPUS = shared_dir() / "corpus"
REPOSITORY_CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CORPORA = {"shared": CORPUS, "repository": REPOSITORY_CORPUS}


def labels_of(corpus: Path) -> dict[str, dict[str, object]]:
    return dict(json.loads((corpus / "labels.json").read_text())["files"])


LABELS = labels_of(CORPUS)
THRESHOLD = 0.98


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, predicted: set[object], expected: set[object], where: str) -> None:
        self.tp += len(predicted & expected)
        self.fp += len(predicted - expected)
        self.fn += len(expected - predicted)
        for item in sorted(map(str, predicted - expected)):
            self.misses.append(f"{where}: unexpected {item}")
        for item in sorted(map(str, expected - predicted)):
            self.misses.append(f"{where}: missed {item}")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if not self.fn else 0.0)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _lint(name: str, corpus: Path = CORPUS) -> list[Finding]:
    path = corpus / name
    kind = labels_of(corpus)[name]["kind"]
    inputs = LintInputs(
        workspace=corpus,
        dockerfile=path if kind == "dockerfile" else None,
        compose_file=path if kind == "compose" else None,
        context=corpus,
        discover_compose=False,
    )
    return list(lint(inputs).findings)


def _lines(findings: list[Finding], rule: str, key: str = "") -> set[object]:
    return {
        f.location.line
        for f in findings
        if f.rule_id == rule and (not key or f.property("key") == key)
    }


def _fires(findings: list[Finding], *rules: str) -> bool:
    return any(f.rule_id in rules for f in findings)


# Dockerfile labels: (label, how to read the label as a set, how to read our findings as a set)
Reader = Callable[[dict[str, object], list[Finding], str], tuple[set[object], set[object]] | None]


def _bool_label(label: str, fires_when: bool, *rules: str) -> Reader:
    def read(
        labels: dict[str, object], findings: list[Finding], name: str
    ) -> tuple[set[object], set[object]] | None:
        value = labels.get(label)
        if value is None:
            return None
        expected = {name} if value is fires_when else set()
        return ({name} if _fires(findings, *rules) else set()), expected

    return read


def _line_label(label: str, rule: str, key: str = "") -> Reader:
    """A line-list label; ``key`` keeps the findings of one kind (DH-D116 also judges yarn and
    pnpm, the label counts npm only)."""

    def read(
        labels: dict[str, object], findings: list[Finding], name: str
    ) -> tuple[set[object], set[object]] | None:
        value = labels.get(label)
        if value is None:
            return None
        # Entries are line numbers, or objects with a "line" (secrets name the variable too).
        expected = {v["line"] if isinstance(v, dict) else v for v in value}  # type: ignore[attr-defined]
        return _lines(findings, rule, key), expected

    return read


def _final_digest(
    labels: dict[str, object], findings: list[Finding], name: str
) -> tuple[set[object], set[object]] | None:
    value = labels.get("final_base_pinned_by_digest")
    if value is None:
        return None
    extra = labels["extra"]
    assert isinstance(extra, dict)
    stages = extra["stages"]
    final_line = extra["final_stage_line"]
    # Follow stage aliases (named through ARGs: "stage_ref") to the FROM that names the image.
    by_name = {s["name"]: s for s in stages if s.get("name")}
    stage = next(s for s in stages if s["line"] == final_line)
    while stage["kind"] == "stage" and stage.get("stage_ref", stage["ref"]) in by_name:
        stage = by_name[stage.get("stage_ref", stage["ref"])]
    predicted = {name} if stage["line"] in _lines(findings, "DH-D107") else set()
    return predicted, ({name} if value is False else set())


DOCKERFILE_LABELS: dict[str, Reader] = {
    "runs_as_root": _bool_label("runs_as_root", True, "DH-D101", "DH-D102"),
    "final_base_pinned_by_digest": _final_digest,
    "any_base_uses_latest_or_untagged": _bool_label(
        "any_base_uses_latest_or_untagged", True, "DH-D106"
    ),
    "multi_stage": _bool_label("multi_stage", False, "DH-D105"),
    "has_healthcheck": _bool_label("has_healthcheck", False, "DH-D119"),
    "secrets_in_env_or_arg": _line_label("secrets_in_env_or_arg", "DH-D108"),
    "add_with_url": _line_label("add_with_url", "DH-D112"),
    "curl_or_wget_pipe_to_shell": _line_label("curl_or_wget_pipe_to_shell", "DH-D113"),
    "apt_get_without_no_install_recommends": _line_label(
        "apt_get_without_no_install_recommends", "DH-D117"
    ),
    "apt_lists_not_cleaned": _line_label("apt_lists_not_cleaned", "DH-D118"),
    "npm_install_instead_of_ci": _line_label("npm_install_instead_of_ci", "DH-D116", "npm"),
    "pip_install_without_hashes_or_lockfile": _line_label(
        "pip_install_without_hashes_or_lockfile", "DH-D115"
    ),
    "copies_whole_context": _line_label("copies_whole_context", "DH-D111"),
    "uses_sudo": _line_label("uses_sudo", "DH-D120"),
}

# Compose labels, per service: (label, value that means "our rule should fire", rule[, key suffix])
COMPOSE_LABELS = {
    "read_only": (False, "DH-C304", ""),
    "cap_drop_all": (False, "DH-C305", ""),
    "no_new_privileges": (False, "DH-C307", ""),
    "privileged": (True, "DH-C301", ""),
    "network_mode_host": (True, "DH-C303", ":network_mode"),
    "pid_host": (True, "DH-C303", ":pid"),
    "docker_sock_mounted": (True, "DH-C302", ""),
    "mem_limit_or_deploy_limits": (False, "DH-C309", ""),
    "healthcheck": (False, "DH-C310", ""),
}


def _compose_scores(scores: dict[str, Score], corpus: Path) -> None:
    for name, labels in labels_of(corpus).items():
        if labels["kind"] != "compose":
            continue
        findings = _lint(name, corpus)
        keys = {(f.rule_id, f.property("key")) for f in findings}
        for service, values in labels["services"].items():
            for label, (fires_when, rule, suffix) in COMPOSE_LABELS.items():
                value = values.get(label)
                if value is None:
                    continue
                expected = {service} if value is fires_when else set()
                predicted = {service} if (rule, service + suffix) in keys else set()
                scores.setdefault(f"compose.{label}", Score()).add(
                    predicted, expected, f"{name}:{service}"
                )
            names = {
                f.property("key").split(":", 1)[1]
                for f in findings
                if f.rule_id == "DH-C311" and f.property("key").startswith(service + ":")
            }
            expected_names = set(values.get("secrets_in_environment") or [])
            scores.setdefault("compose.secrets_in_environment", Score()).add(
                names, expected_names, f"{name}:{service}"
            )


def _scores(corpus: Path = CORPUS) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    for name, labels in labels_of(corpus).items():
        if labels["kind"] != "dockerfile":
            continue
        findings = _lint(name, corpus)
        for label, reader in DOCKERFILE_LABELS.items():
            result = reader(labels, findings, name)
            if result is not None:
                scores.setdefault(label, Score()).add(result[0], result[1], name)
    _compose_scores(scores, corpus)
    return scores


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_corpus_precision_and_recall(corpus: str, capsys: pytest.CaptureFixture[str]) -> None:
    scores = _scores(CORPORA[corpus])
    rows = [f"{corpus + ' corpus':45} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>7}"]
    for label, score in sorted(scores.items()):
        rows.append(
            f"{label:45} {score.tp:>3} {score.fp:>3} {score.fn:>3} {score.precision:>9.2f} {score.recall:>7.2f}"
        )
    with capsys.disabled():
        print("\n" + "\n".join(rows))
    failing = {
        label: score.misses
        for label, score in scores.items()
        if score.precision < THRESHOLD or score.recall < THRESHOLD
    }
    assert not failing, json.dumps(failing, indent=1)


@pytest.mark.parametrize("corpus", sorted(CORPORA))
def test_every_corpus_file_lints_without_crashing(corpus: str) -> None:
    for name, labels in labels_of(CORPORA[corpus]).items():
        path = CORPORA[corpus] / name
        outcome = lint(
            LintInputs(
                workspace=CORPORA[corpus],
                dockerfile=path if labels["kind"] == "dockerfile" else None,
                compose_file=path if labels["kind"] == "compose" else None,
            )
        )
        assert not [n for n in outcome.notifications if "crashed" in n.message], name


def test_repository_corpus_files_are_the_recorded_public_files() -> None:
    labels = labels_of(REPOSITORY_CORPUS)
    assert len(labels) >= 20
    on_disk = {p.name for p in REPOSITORY_CORPUS.iterdir() if p.name not in ("labels.json",)}
    assert on_disk - {"SOURCES.md", ".gitattributes"} == set(labels)
    sources = (REPOSITORY_CORPUS / "SOURCES.md").read_text()
    for name, entry in labels.items():
        data = (REPOSITORY_CORPUS / name).read_bytes()
        source = entry["source"]
        assert isinstance(source, dict)
        assert hashlib.sha256(data).hexdigest() == source["sha256"], name
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 (git's id)
        assert blob == source["git_blob_sha1"], name
        assert source["licence"] and f"`{name}`" in sources, name
