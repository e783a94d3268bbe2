"""The settings in force, resolved once, by one function, for ``scan``, ``lint`` and the action.

What was given (a CLI flag or an action input) beats the policy file, which beats the default;
each value remembers where it came from, so the summary can say so. The gate policy comes
from here and nowhere else, so ``lint`` and ``scan`` judge the same findings the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from hardening.errors import UsageError
from hardening.model import Kind, Severity

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    from hardening.gate import GatePolicy
    from hardening.policy.config import Config

# What fail-on accepts: a severity, or none (never fail on findings).
GATE_LEVELS = ("critical", "high", "medium", "low", "none")
# Where the exploit data is downloaded from unless a setting says otherwise (hardening.enrich).
KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"

# name -> default; a name is what users write (flag without dashes, input, config key).
DEFAULTS: dict[str, object] = {
    "fail-on": Severity.HIGH,
    "fail-on-kinds": frozenset(Kind),
    "fail-on-scope": "all",
    "ignore-unfixed": False,
    "on-tool-failure": "fail",
    "probes": True,
    "grace-period": 5.0,
    "min-uid": 1000,
    "fail-on-kev": False,
    "fail-on-epss": None,  # an EPSS score from 0 to 1; None: off
    "kev-url": KEV_URL,
    "epss-url": EPSS_URL,
    "recommend-base": False,  # measure a better base image (docs/recommend.md)
}
# Settings an environment variable may give (as an input would), for mirrors and tests.
ENVIRONMENT = {"kev-url": "HARDENING_KEV_URL", "epss-url": "HARDENING_EPSS_URL"}


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings in force for one run, with where each came from."""

    fail_on: Severity | None = Severity.HIGH  # None: never fail on findings
    fail_on_kinds: frozenset[Kind] = frozenset(Kind)
    thresholds: tuple[tuple[Kind, Severity | None], ...] = ()  # per kind, from the policy file
    fail_on_scope: str = "all"  # "new": only what this change introduces counts
    ignore_unfixed: bool = False
    on_tool_failure: str = "fail"
    probes: bool = True
    grace_s: float = 5.0
    min_uid: int = 1000
    fail_on_kev: bool = False  # any finding on CISA's KEV catalog fails, whatever its severity
    fail_on_epss: float | None = None  # any finding with an EPSS score at or above this fails
    kev_url: str = KEV_URL  # where the KEV catalog is downloaded from ("none": not at all)
    epss_url: str = EPSS_URL  # where the EPSS scores are downloaded from ("none": not at all)
    recommend_base: bool = False  # measure a better base image; never changes the verdict
    sources: tuple[tuple[str, str], ...] = ()  # name -> "input", the policy file or "default"

    def source(self, name: str) -> str:
        return dict(self.sources).get(name, "default")

    def in_force(self) -> tuple[tuple[str, str], ...]:
        """name -> "value (where it came from)", for the summary."""
        kinds = ",".join(sorted(k.value for k in self.fail_on_kinds))
        shown = [
            ("fail-on", self.fail_on.value if self.fail_on else "none"),
            ("fail-on-kinds", kinds),
            ("fail-on-scope", self.fail_on_scope),
            ("ignore-unfixed", str(self.ignore_unfixed).lower()),
            ("on-tool-failure", self.on_tool_failure),
            ("probes", str(self.probes).lower()),
            ("fail-on-kev", str(self.fail_on_kev).lower()),
            ("fail-on-epss", "none" if self.fail_on_epss is None else f"{self.fail_on_epss:g}"),
        ]
        shown += [(n, v) for n, v in (("kev-url", self.kev_url), ("epss-url", self.epss_url))
                  if self.source(n) != "default"]  # fmt: skip
        shown += [("recommend-base", "true")] if self.recommend_base else []
        out = [(name, f"{value} ({self.source(name)})") for name, value in shown]
        out += [
            (f"threshold.{kind.value}", f"{level.value if level else 'none'} (policy file)")
            for kind, level in self.thresholds
        ]
        return tuple(out)

    def gate_policy(self) -> GatePolicy:
        from hardening.gate import GatePolicy

        return GatePolicy(
            fail_on=self.fail_on,
            kinds=self.fail_on_kinds,
            per_kind=self.thresholds,
            on_tool_failure=self.on_tool_failure,
            fail_on_kev=self.fail_on_kev,
            fail_on_epss=self.fail_on_epss,
        )


def epss_threshold(value: object) -> float | None:
    """An EPSS threshold as written: a probability from 0 to 1 ("0.1"), a percentage ("10%"),
    or none; a usage error otherwise."""
    text = str(value).strip().lower()
    if text in ("none", "off", "false", ""):
        return None
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        number = -1.0
    if isinstance(value, bool) or not 0 < number <= 1:
        raise UsageError(
            f"fail-on-epss must be an EPSS score above 0 and at most 1, or none, not {value!r}",
            "write a probability such as 0.1 (or 10%), or none",
        )
    return number


def resolve(
    given: Mapping[str, object | None], config: Config, environ: Mapping[str, str] | None = None
) -> Settings:
    """The one resolution: ``given`` holds the already validated flags or inputs (None when
    not given; "none" for a gate that is off). A variable of ``ENVIRONMENT`` set in
    ``environ`` (default: this process's) counts as given."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    sources: list[tuple[str, str]] = []
    for name, default in DEFAULTS.items():
        variable = ENVIRONMENT.get(name, "")
        if given.get(name) is not None:
            values[name], source = given[name], "input"
        elif variable and env.get(variable, "").strip():
            values[name], source = env[variable].strip(), variable
        elif name in config.values:
            values[name], source = config.values[name], config.path or "policy file"
        else:
            values[name], source = default, "default"
        sources.append((name, source))
    fail_on = values["fail-on"]
    kinds = values["fail-on-kinds"]
    assert isinstance(kinds, frozenset)
    return Settings(
        fail_on=fail_on if isinstance(fail_on, Severity) else None,
        fail_on_kinds=kinds,
        thresholds=config.thresholds,
        fail_on_scope="new" if config.new_only and given.get("fail-on-scope") is None
        else str(values["fail-on-scope"]),
        ignore_unfixed=bool(values["ignore-unfixed"]),
        on_tool_failure=str(values["on-tool-failure"]),
        probes=bool(values["probes"]),
        grace_s=float(values["grace-period"]),  # type: ignore[arg-type]
        min_uid=int(values["min-uid"]),  # type: ignore[call-overload]
        fail_on_kev=values["fail-on-kev"] is True,
        fail_on_epss=epss_threshold(values["fail-on-epss"] or "none"),
        kev_url=str(values["kev-url"]),
        epss_url=str(values["epss-url"]),
        recommend_base=values["recommend-base"] is True,
        sources=tuple(sources),
    )


def parse_fail_on(value: str) -> Severity | None:
    text = value.strip().lower()
    if text not in GATE_LEVELS:
        raise UsageError(
            f"fail-on must be one of {', '.join(GATE_LEVELS)}, not {value!r}",
            "set fail-on to a severity such as high",
        )
    return None if text == "none" else Severity(text)


def parse_scope(value: str | None) -> str | None:
    if value is None:
        return None
    scope = value.strip().lower()
    if scope not in ("all", "new"):
        raise UsageError(
            f"fail-on-scope must be all or new, not {value!r}",
            "use all (every finding counts) or new (only what the change introduces)",
        )
    return scope


def parse_kinds(value: str) -> frozenset[Kind]:
    kinds = set()
    for item in split_list(value):
        try:
            kinds.add(Kind(item.lower()))
        except ValueError:
            valid = ", ".join(k.value for k in Kind)
            raise UsageError(
                f"unknown finding kind {item!r} in fail-on-kinds", f"use any of: {valid}"
            ) from None
    return frozenset(kinds)


def split_list(value: str) -> list[str]:
    """Split a comma- or newline-separated input, as GitHub users write lists in YAML."""
    return [
        item.strip() for chunk in value.splitlines() for item in chunk.split(",") if item.strip()
    ]


def given_from_flags(flags: object) -> dict[str, object | None]:
    """The settings given as command-line flags (argparse's namespace), validated; None when
    not given. ``scan`` has more of them than ``lint``."""
    fail_on = getattr(flags, "fail_on", None)
    kinds = getattr(flags, "fail_on_kinds", None)
    given: dict[str, object | None] = {
        "fail-on": (parse_fail_on(fail_on) or "none") if fail_on is not None else None,
        "fail-on-kinds": parse_kinds(kinds) if kinds is not None else None,
        "ignore-unfixed": getattr(flags, "ignore_unfixed", None),
        "probes": False if getattr(flags, "no_probes", False) else None,
        "grace-period": getattr(flags, "trial_grace", None),
        "fail-on-kev": True if getattr(flags, "fail_on_kev", None) else None,
        "fail-on-epss": (
            epss_threshold(flags.fail_on_epss) or "none"  # type: ignore[attr-defined]
            if getattr(flags, "fail_on_epss", None) is not None
            else None
        ),
        "fail-on-scope": parse_scope(getattr(flags, "fail_on_scope", None)),
        "recommend-base": True if getattr(flags, "recommend_base", None) else None,
    }
    return given
