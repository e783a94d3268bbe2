"""The base-image recommendation in the report and around it: the report section (and the one
line it degrades to), the SARIF fix and the check-run suggestion on the FROM line, that no
gate ever counts its finding, the policy section, and how it is turned on."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening.errors import UsageError
from hardening.gate import GatePolicy, decide
from hardening.model import (
    BASE_RECOMMENDATION_RULE,
    BaseCandidate,
    BaseRecommendation,
    Finding,
    ImageMeasure,
    Kind,
    Location,
    Report,
    Severity,
)
from hardening.policy.config import load_config
from hardening.report import markdown, sarif
from hardening.supply.recommend import Target, changes, notes, recommendation_finding
from tests.support.sarif_validate import schema_errors


def measure(ref: str, crit: int = 0, high: int = 0, fc: int = 0, fh: int = 0, size: int = 10,
            **fields: object) -> ImageMeasure:  # fmt: skip
    counts = tuple((s, n) for s, n in ((Severity.CRITICAL, crit), (Severity.HIGH, high)) if n)
    return ImageMeasure(ref, "sha256:" + "0" * 64, counts, fc, fh, size, **fields)  # type: ignore[arg-type]


def test_a_note_is_one_line() -> None:
    for note in ("the base image cannot be resolved (BASE has no default value); nothing to "
                 "recommend", "no candidates could be listed: registry 127.0.0.1:9 could not be "
                 "reached (ConnectionError); nothing recommended"):  # fmt: skip
        rec = BaseRecommendation("127.0.0.1:9/library/debian:12.1", "Dockerfile", 1, note=note)
        assert markdown.recommendation_section(Report((), base_recommendation=rec)) == [
            f"_Base image recommendation: {markdown.esc(note)}._",
            "",
        ]
        assert recommendation_finding(rec) is None
    assert markdown.recommendation_section(Report(())) == []


def _recommendation() -> BaseRecommendation:
    current = measure("debian:12.1", crit=2, high=3, fc=1, fh=3, size=230_000_000, packages=89,
                      os="Debian GNU/Linux 12 (bookworm)", os_id="debian 12", eol="2028-06-30",
                      shells=("/bin/sh",), package_managers=("apt", "dpkg"))  # fmt: skip
    slim = measure("debian:12.2-slim", size=2_000_000, packages=0,
                   os="Debian GNU/Linux 12 (bookworm)", os_id="debian 12", shells=("/bin/sh",))  # fmt: skip
    line = f"FROM debian:12.2-slim@{slim.digest}"
    candidate = BaseCandidate(slim, "smaller variant (slim)", line, changes(current, slim),
                              notes(current, slim, Target("debian:12.1")))  # fmt: skip
    return BaseRecommendation("debian:12.1", "Dockerfile", 1, current, (candidate,), (
        ("cgr.dev/chainguard/wolfi-base:latest", "not found"),), True, "", ("trivy",), 12.0)  # fmt: skip


def test_the_report_section_sarif_fix_and_annotation_carry_the_pinned_line() -> None:
    rec = _recommendation()
    finding = recommendation_finding(rec)
    assert finding is not None and finding.rule_id == BASE_RECOMMENDATION_RULE
    assert finding.severity is Severity.NEGLIGIBLE and finding.location.line == 1
    best = rec.candidates[0]
    report = Report((finding,), dockerfile="Dockerfile", base_recommendation=rec)
    text = markdown.render_report(report)
    assert "### A better base image, measured" in text
    assert (
        "| **recommended:** debian:12.2-slim · smaller variant (slim) | 0 (0) | 0 (0) | 0 | 2.0 MB"
        in text
    )
    assert (
        "-2 critical, -3 high, -4 fixable critical or high, -89 packages, -228 MB, no package manager"
        in text
    )
    assert f"# recommended: debian:12.2-slim (smaller variant (slim))\n{best.from_line}" in text
    assert "Not measured: cgr.dev/chainguard/wolfi-base:latest (not found)." in text
    assert "### Pin the base images" not in text  # the pins section is for digest pins only
    document = sarif.build_sarif(report, {}, {"Dockerfile": "FROM debian:12.1\n"})
    assert schema_errors(document) == []
    (result,) = document["runs"][0]["results"]
    assert result["level"] == "note"
    change = result["fixes"][0]["artifactChanges"][0]
    assert change["replacements"][0]["insertedContent"]["text"] == best.from_line + "\n"
    from hardening.github.publish import check_annotations

    (annotation,) = check_annotations([finding])
    assert annotation["annotation_level"] == "notice"
    assert f"Replace line 1 with: {best.from_line}" in str(annotation["message"])


def test_no_gate_counts_the_recommendation() -> None:
    finding = recommendation_finding(_recommendation())
    assert finding is not None
    policy = GatePolicy(fail_on=Severity.LOW, kinds=frozenset(Kind))
    assert decide([finding], [], policy, []).passed
    other = Finding("DH-D101", Kind.MISCONFIGURATION, Severity.LOW, "t", "m",
                    location=Location(path="Dockerfile", line=1))  # fmt: skip
    assert decide([finding, other], [], policy, []).blocking == (other,)


def test_policy_section(tmp_path: Path) -> None:
    path = tmp_path / ".hardening.yml"
    path.write_text(
        "recommend-base:\n  max-candidates: 2\n  timeout: 60\n"
        "  alternatives:\n    python: [registry.example.com/python:3]\n"
        "  mirrors:\n    gcr.io: mirror.example.com/gcr\n"
    )
    config = load_config(path, required=True)
    assert config.values["recommend-base"] is True
    assert config.recommend.max_candidates == 2 and config.recommend.timeout_s == 60
    assert config.recommend.alternatives == (("python", ("registry.example.com/python:3",)),)
    assert config.recommend.mirrors == (("gcr.io", "mirror.example.com/gcr"),)
    path.write_text("recommend-base: false\n")
    assert load_config(path, required=True).values["recommend-base"] is False
    path.write_text("recommend-base:\n  max-candidate: 2\n")
    with pytest.raises(UsageError, match="max-candidate: unknown key") as refused:
        load_config(path, required=True)
    assert "max-candidates" in refused.value.fix


def test_on_from_a_flag_an_input_or_the_policy_file(tmp_path: Path) -> None:
    from argparse import Namespace

    from hardening import action
    from hardening.policy.config import Config
    from hardening.settings import given_from_flags, resolve

    assert not resolve({}, Config()).recommend_base
    flagged = resolve(given_from_flags(Namespace(recommend_base=True)), Config())
    assert flagged.recommend_base and ("recommend-base", "true (input)") in flagged.in_force()
    (tmp_path / "Dockerfile").write_text("FROM debian:12.1\n")
    env = {"GITHUB_WORKSPACE": str(tmp_path), "INPUT_GITHUB-TOKEN": "t"}
    assert not action.request_from_inputs(env).settings.recommend_base
    assert action.request_from_inputs(
        {**env, "INPUT_RECOMMEND-BASE": "true"}
    ).settings.recommend_base
    (tmp_path / ".hardening.yml").write_text("recommend-base: true\n")
    filed = action.request_from_inputs(env).settings
    assert filed.recommend_base and filed.source("recommend-base").endswith(".hardening.yml")
