"""Where our static rules, hadolint and compose-lint agree and differ with the corpus labels.

    python -m bench.lint_compare

Reads both labelled corpora by their own conventions (as tests/rules/test_corpus.py does):
shared/corpus/labels.json and the repository's tests/corpus/labels.json, and prints, per label
and corpus side by side, precision and recall of each tool that has an equivalent check (n/a
where it has none). Peers run from their own virtual environment (bench/lint_speed.py makes
it). Not a test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.lint_speed import peers
from tests.rules import test_corpus as ours

# label -> hadolint codes that judge the same thing (by line, or anywhere in the file)
HADOLINT = {
    "runs_as_root": ("file", ("DL3002",)),
    "any_base_uses_latest_or_untagged": ("file", ("DL3006", "DL3007")),
    "apt_get_without_no_install_recommends": ("line", ("DL3015",)),
    "apt_lists_not_cleaned": ("line", ("DL3009",)),
    "pip_install_without_hashes_or_lockfile": ("line", ("DL3013", "DL3042")),
    "uses_sudo": ("line", ("DL3004",)),
    "secrets_in_env_or_arg": ("line", ("DL3064",)),
}
# compose label -> compose-lint rule ids (per service)
COMPOSE_LINT = {
    "read_only": (False, ("CL-0007",)),
    "cap_drop_all": (False, ("CL-0006",)),
    "no_new_privileges": (False, ("CL-0003",)),
    "privileged": (True, ("CL-0002",)),
    "network_mode_host": (True, ("CL-0008",)),
    "pid_host": (True, ("CL-0010",)),
    "docker_sock_mounted": (True, ("CL-0001",)),
    "mem_limit_or_deploy_limits": (False, ("CL-0026",)),
}


def _hadolint(tools: Path, path: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [str(tools / "hadolint"), "-f", "json", "--no-fail", str(path)],
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out or "[]")


def _compose_lint(tools: Path, path: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [str(tools / "compose-lint"), "--format", "json", str(path)], capture_output=True, text=True
    ).stdout
    return list(json.loads(out or "{}").get("findings", []))


def _hadolint_scores(
    tools: Path, corpus: Path, labels: dict[str, dict[str, object]]
) -> dict[str, ours.Score]:
    scores: dict[str, ours.Score] = {}
    for name, entry in labels.items():
        if entry["kind"] != "dockerfile":
            continue
        found = _hadolint(tools, corpus / name)
        for label, (scope, codes) in HADOLINT.items():
            value = entry.get(label)
            if value is None:
                continue
            hits = [f for f in found if f["code"] in codes]
            if scope == "file":
                expected = {name} if value is True else set()
                predicted = {name} if hits else set()
            else:
                assert isinstance(value, list)
                expected = {v["line"] if isinstance(v, dict) else v for v in value}
                predicted = {f["line"] for f in hits}
            scores.setdefault(label, ours.Score()).add(predicted, expected, name)
    return scores


def _compose_lint_scores(
    tools: Path, corpus: Path, labels: dict[str, dict[str, object]]
) -> dict[str, ours.Score]:
    scores: dict[str, ours.Score] = {}
    for name, entry in labels.items():
        if entry["kind"] != "compose":
            continue
        found = _compose_lint(tools, corpus / name)
        services = entry["services"]
        assert isinstance(services, dict)
        for service, values in services.items():
            for label, (fires_when, ids) in COMPOSE_LINT.items():
                value = values.get(label)
                if value is None:
                    continue
                hit = any(f.get("service") == service and f["rule_id"] in ids for f in found)
                scores.setdefault(f"compose.{label}", ours.Score()).add(
                    {service} if hit else set(),
                    {service} if value is fires_when else set(),
                    f"{name}:{service}",
                )
    return scores


def _cell(scores: dict[str, ours.Score], label: str) -> str:
    score = scores.get(label)
    return "n/a" if score is None else f"{score.precision:.2f} / {score.recall:.2f}"


def main() -> None:
    tools = peers()
    columns: list[tuple[dict[str, ours.Score], dict[str, ours.Score]]] = []
    for corpus in (ours.CORPUS, ours.REPOSITORY_CORPUS):
        labels = ours.labels_of(corpus)
        peer = _hadolint_scores(tools, corpus, labels)
        peer.update(_compose_lint_scores(tools, corpus, labels))
        columns.append((ours._scores(corpus), peer))
    print(
        "| label | shared: docker-hardening P / R | shared: peer P / R "
        "| repository: docker-hardening P / R | repository: peer P / R |"
    )
    print("|---|---|---|---|---|")
    for label in sorted(set(columns[0][0]) | set(columns[1][0])):
        cells = [_cell(scores, label) for pair in columns for scores in pair]
        print(f"| {label} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
