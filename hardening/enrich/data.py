"""CISA's KEV catalog (JSON) and FIRST's daily EPSS scores (CSV, gzipped), read into typed
values. Nothing here reads a file, the network or the clock: the caller hands the bytes in.

KEV: ``known_exploited_vulnerabilities.json``, ``{"catalogVersion", "dateReleased",
"vulnerabilities": [{"cveID", "dateAdded", "dueDate", "knownRansomwareCampaignUse", ...}]}``
(schema: https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities_schema.json).

EPSS: ``epss_scores-YYYY-MM-DD.csv.gz``, one comment line
``#model_version:v2025.03.14,score_date:2025-06-18T12:55:00Z``, the header ``cve,epss,percentile``,
then one row per scored CVE.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from hardening.model import Epss, Kev

MAX_UNCOMPRESSED = 256 * 1024 * 1024  # the current EPSS file is about 12 MB uncompressed
_META = re.compile(r"(model_version|score_date)\s*:\s*([^,\s]+)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class KevCatalog:
    version: str  # catalogVersion, e.g. 2025.08.25
    released: str  # dateReleased, YYYY-MM-DD
    entries: Mapping[str, Kev] = field(default_factory=dict)  # CVE id (upper case) -> entry

    @property
    def label(self) -> str:
        return f"CISA KEV catalog {self.version or self.released or '(undated)'}"


@dataclass(frozen=True, slots=True)
class EpssScores:
    model: str  # model_version, e.g. v2025.03.14
    date: str  # score_date, YYYY-MM-DD ("" when the file does not say)
    scores: Mapping[str, Epss] = field(default_factory=dict)  # CVE id (upper case) -> score

    @property
    def label(self) -> str:
        return f"EPSS scores of {self.date or 'an unknown date'}"


def _date(value: object) -> str:
    match = _DATE.match(str(value or "").strip())
    return match.group(0) if match else ""


def parse_kev(data: bytes) -> KevCatalog:
    """The catalog; ValueError when it is not CISA's catalog."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON ({exc})") from None
    entries = document.get("vulnerabilities") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("no vulnerabilities list: not CISA's KEV catalog")
    version = str(document.get("catalogVersion", "") or "")
    released = _date(document.get("dateReleased"))
    label = f"CISA KEV catalog {version or released or '(undated)'}"
    found: dict[str, Kev] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not str(entry.get("cveID", "")).strip():
            continue
        found[str(entry["cveID"]).strip().upper()] = Kev(
            date_added=_date(entry.get("dateAdded")),
            due_date=_date(entry.get("dueDate")),
            ransomware=str(entry.get("knownRansomwareCampaignUse", "") or ""),
            source=label,
        )
    return KevCatalog(version, released, found)


def _text(data: bytes) -> str:
    if data[:2] == b"\x1f\x8b":
        try:
            stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            data = stream.decompress(data, MAX_UNCOMPRESSED)
        except (zlib.error, EOFError, gzip.BadGzipFile) as exc:
            raise ValueError(f"not a gzip file ({exc})") from None
        if stream.unconsumed_tail:
            raise ValueError(f"larger than {MAX_UNCOMPRESSED // (1024 * 1024)} MB uncompressed")
    return data.decode("utf-8", errors="replace")


def parse_epss(data: bytes, wanted: Collection[str] | None = None) -> EpssScores:
    """The scores of ``wanted`` CVEs (upper case), or of all; ValueError when it is not an
    EPSS file. The file is gzipped as published, or plain text."""
    lines = _text(data).splitlines()
    meta: dict[str, str] = {}
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        meta.update(_META.findall(lines[start]))
        start += 1
    if start >= len(lines) or lines[start].replace(" ", "").lower() != "cve,epss,percentile":
        raise ValueError("no cve,epss,percentile header: not an EPSS scores file")
    date = _date(meta.get("score_date"))
    source = f"EPSS scores of {date or 'an unknown date'}"
    scores: dict[str, Epss] = {}
    for line in lines[start + 1 :]:
        cve, _, rest = line.partition(",")
        cve = cve.strip().upper()
        if not cve or (wanted is not None and cve not in wanted):
            continue
        score, _, percentile = rest.partition(",")
        try:
            scores[cve] = Epss(float(score), float(percentile), date, source)
        except ValueError:
            continue
    return EpssScores(meta.get("model_version", ""), date, scores)
