"""The "exploit data" stage, after the merge: every vulnerability finding (whichever scanner
saw it) is marked from CISA's KEV catalog and FIRST's EPSS scores, on top of what Grype's
report already said.

Freshness: the catalog counts from when it was fetched (CISA publishes it as the current
list, not daily), the scores from their own score date. When ``fail-on-kev`` or
``fail-on-epss`` is on and its data is older than three days or missing, the result is
``stale``: the stage then fails, so the run is incomplete (exit 3) rather than passed on
data that could not be checked.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hardening.enrich.apply import mark, wanted
from hardening.enrich.data import EpssScores, KevCatalog, parse_epss, parse_kev
from hardening.enrich.sources import Fetched, Source, fetch
from hardening.model import ExploitData, Finding

FRESH_DAYS = 3
KEV_FILE = "known_exploited_vulnerabilities.json"
EPSS_FILE = "epss_scores-current.csv.gz"


@dataclass(frozen=True, slots=True)
class Options:
    cache: Path
    kev_url: str
    epss_url: str
    now: datetime.datetime
    gate_kev: bool = False  # fail-on-kev is on: the catalog must be fresh
    gate_epss: bool = False  # fail-on-epss is on: the scores must be fresh
    timeout_s: float = 20.0


@dataclass(frozen=True, slots=True)
class Outcome:
    findings: list[Finding]
    data: ExploitData
    stale: tuple[str, ...] = ()  # what a gate needs and cannot have fresh
    marked: tuple[int, int] = (0, 0)  # findings on the KEV catalog, findings with EPSS
    skipped: str = ""  # why nothing was looked up


def _get(source: Source, options: Options, check: Callable[[bytes], object]) -> Fetched:
    if source.off:
        return Fetched(None, None, f"{source.name} is off (no URL set)")
    return fetch(source, options.cache, options.now, check, options.timeout_s)


def _fetch_both(options: Options) -> tuple[Fetched, Fetched]:
    kev = Source("the KEV catalog", options.kev_url, KEV_FILE)
    epss = Source("the EPSS scores", options.epss_url, EPSS_FILE)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="exploit-data") as pool:
        kev_job = pool.submit(_get, kev, options, parse_kev)
        epss_job = pool.submit(_get, epss, options, lambda data: parse_epss(data, frozenset()))
        return kev_job.result(), epss_job.result()


def _kev_age(options: Options, kev: KevCatalog | None, fetched: Fetched) -> float | None:
    """Days since the catalog held was fetched: it is the current list when fetched."""
    if kev is None or fetched.fetched is None:
        return None
    return (options.now - fetched.fetched).total_seconds() / 86400.0


def _epss_age(options: Options, epss: EpssScores | None, fetched: Fetched) -> float | None:
    """Days since the scores' own date (whole days), or since the fetch when it has none."""
    if epss is None:
        return None
    if epss.date:
        return float((options.now.date() - datetime.date.fromisoformat(epss.date)).days)
    if fetched.fetched is None:
        return None
    return (options.now - fetched.fetched).total_seconds() / 86400.0


def _freshness(
    options: Options, kev_age: float | None, epss_age: float | None, epss_date: str
) -> tuple[list[str], list[str]]:
    """(problems to say, what a gate needs and cannot have fresh)."""
    problems, stale = [], []
    if kev_age is not None and kev_age > FRESH_DAYS:
        problems.append(f"the KEV catalog held was fetched {kev_age:.0f} days ago")
    if epss_age is not None and epss_age > FRESH_DAYS:
        problems.append(f"the EPSS scores held are of {epss_date or 'an unknown date'}")
    if options.gate_kev and (kev_age is None or kev_age > FRESH_DAYS):
        stale.append(f"fail-on-kev needs a KEV catalog fetched in the last {FRESH_DAYS} days")
    if options.gate_epss and (epss_age is None or epss_age > FRESH_DAYS):
        stale.append(f"fail-on-epss needs EPSS scores of the last {FRESH_DAYS} days")
    return problems, stale


def _labels(
    kev: KevCatalog | None, kev_fetched: Fetched, epss: EpssScores | None
) -> tuple[str, str]:
    kev_label = ""
    if kev is not None:
        when = kev_fetched.fetched.date().isoformat() if kev_fetched.fetched else "?"
        kev_label = f"{kev.label}, fetched {when}"
    epss_label = f"{epss.label} (model {epss.model})" if epss is not None and epss.model else ""
    return kev_label, epss_label or (epss.label if epss is not None else "")


def _read_kev(fetched: Fetched) -> tuple[KevCatalog | None, str]:
    try:
        return (parse_kev(fetched.data) if fetched.data is not None else None), ""
    except ValueError as exc:
        return None, f"the cached copy of the KEV catalog is unreadable ({exc})"


def _read_epss(fetched: Fetched, cves: frozenset[str]) -> tuple[EpssScores | None, str]:
    try:
        return (parse_epss(fetched.data, cves) if fetched.data is not None else None), ""
    except ValueError as exc:
        return None, f"the cached copy of the EPSS scores is unreadable ({exc})"


def run(findings: Iterable[Finding], options: Options) -> Outcome:
    findings = list(findings)
    cves = wanted(findings)
    if not cves:
        return Outcome(findings, ExploitData(), skipped="no CVE to look up")
    kev_fetched, epss_fetched = _fetch_both(options)
    kev, kev_problem = _read_kev(kev_fetched)
    epss, epss_problem = _read_epss(epss_fetched, cves)
    marked = mark(findings, kev, epss)
    problems, stale = _freshness(
        options, _kev_age(options, kev, kev_fetched), _epss_age(options, epss, epss_fetched),
        epss.date if epss is not None else "",
    )  # fmt: skip
    said = [p for p in (kev_fetched.problem, kev_problem, epss_fetched.problem, epss_problem) if p]
    kev_label, epss_label = _labels(kev, kev_fetched, epss)
    data = ExploitData(kev_label, epss_label, tuple(said + problems))
    counts = (sum(1 for f in marked if f.kev), sum(1 for f in marked if f.epss))
    return Outcome(marked, data, tuple(stale), counts)
