"""Docker Registry HTTP API v2: the digest a tag points at now, and when an image was built.

Follows the registry's auth challenge (a Bearer token from the realm it names, or Basic),
using the runner's Docker credentials (``~/.docker/config.json`` ``auths``) when they exist.
Loopback registries are spoken to over plain HTTP, as Docker itself allows. Nothing here
raises for a registry problem: the answer carries the reason instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

TIMEOUT_S = 5.0
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join((*INDEX_TYPES, *MANIFEST_TYPES))
DOCKER_HUB = "registry-1.docker.io"


@dataclass(frozen=True, slots=True)
class Reference:
    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def scheme(self) -> str:
        host = self.registry.split(":", 1)[0]
        return "http" if host in ("127.0.0.1", "localhost", "::1") else "https"

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.registry}/v2/{self.repository}"


def parse_reference(ref: str) -> Reference:
    """``nginx:1.27`` -> registry-1.docker.io, library/nginx, 1.27 (Docker's own rules)."""
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    name, tag = ref, ""
    if ":" in ref.rsplit("/", 1)[-1]:
        name, tag = ref.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = DOCKER_HUB, name
        if "/" not in repository:
            repository = f"library/{repository}"
    return Reference(registry, repository, tag or ("" if digest else "latest"), digest)


@dataclass(frozen=True, slots=True)
class Answer:
    digest: str = ""
    media_type: str = ""
    body: bytes = b""
    error: str = ""
    status: int = 0  # the HTTP status; 0 when the registry could not be reached


def _credentials(registry: str) -> tuple[str, str] | None:
    folder = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker"))
    try:
        auths = json.loads((folder / "config.json").read_text()).get("auths", {})
    except (OSError, ValueError):
        return None
    for key in (
        registry,
        f"https://{registry}",
        "https://index.docker.io/v1/" if registry == DOCKER_HUB else "",
    ):
        entry = auths.get(key) if key else None
        if isinstance(entry, dict) and entry.get("auth"):
            user, _, password = (
                base64.b64decode(entry["auth"]).decode(errors="replace").partition(":")
            )
            return user, password
    return None


def _failure(ref: Reference, reference: str, status: int) -> str:
    if status == 404:
        return f"{ref.repository}:{reference} was not found in {ref.registry}"
    if status in (401, 403):
        return f"{ref.registry} refused access ({status}); log in with docker login"
    if status >= 400:
        return f"{ref.registry} answered {status}"
    return ""


class Registry:
    def __init__(
        self, session: requests.Session | None = None, timeout_s: float = TIMEOUT_S
    ) -> None:
        self.session = session or requests.Session()
        self.timeout_s = timeout_s
        self._tokens: dict[str, str] = {}

    def _authorize(self, ref: Reference, response: requests.Response) -> dict[str, str] | None:
        challenge = response.headers.get("WWW-Authenticate", "")
        creds = _credentials(ref.registry)
        if challenge.lower().startswith("basic"):
            if creds is None:
                return None
            return {"Authorization": "Basic " + base64.b64encode(":".join(creds).encode()).decode()}
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = fields.pop("realm", "")
        if not realm:
            return None
        fields.setdefault("scope", f"repository:{ref.repository}:pull")
        token_response = self.session.get(realm, params=fields, auth=creds, timeout=self.timeout_s)
        token_response.raise_for_status()
        data = token_response.json()
        token = str(data.get("token") or data.get("access_token") or "")
        self._tokens[ref.registry + ref.repository] = token
        return {"Authorization": f"Bearer {token}"}

    def _request(
        self, method: str, ref: Reference, path: str, accept: str = ACCEPT
    ) -> requests.Response:
        headers = {"Accept": accept}
        token = self._tokens.get(ref.registry + ref.repository)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{ref.base}/{path}"
        response = self.session.request(method, url, headers=headers, timeout=self.timeout_s)
        if response.status_code == 401:
            auth = self._authorize(ref, response)
            if auth is not None:
                response = self.session.request(
                    method, url, headers={**headers, **auth}, timeout=self.timeout_s
                )
        return response

    def manifest(self, ref: Reference, reference: str, method: str = "HEAD") -> Answer:
        try:
            response = self._request(method, ref, f"manifests/{reference}")
        except requests.RequestException as exc:
            return Answer(
                error=f"registry {ref.registry} could not be reached ({type(exc).__name__})"
            )
        failed = _failure(ref, reference, response.status_code)
        if failed:
            return Answer(error=failed, status=response.status_code)
        body = response.content if method == "GET" else b""
        digest = response.headers.get("Docker-Content-Digest", "")
        if not digest and body:
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if not digest and method == "HEAD":
            return self.manifest(ref, reference, "GET")
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        return Answer(digest, media_type, body, status=response.status_code)

    def blob(self, ref: Reference, digest: str) -> Answer:
        """A blob, checked against its digest (a registry cannot hand over other bytes)."""
        try:
            response = self._request("GET", ref, f"blobs/{digest}", accept="*/*")
        except requests.RequestException as exc:
            return Answer(
                error=f"registry {ref.registry} could not be reached ({type(exc).__name__})"
            )
        failed = _failure(ref, digest, response.status_code)
        if failed:
            return Answer(error=failed, status=response.status_code)
        if "sha256:" + hashlib.sha256(response.content).hexdigest() != digest:
            return Answer(error=f"{ref.registry} sent a blob that is not {digest}", status=502)
        return Answer(digest, body=response.content, status=response.status_code)

    def referrers(self, ref: Reference, digest: str) -> Answer:
        """The OCI referrers index of ``digest`` (404 where the registry has no referrers API)."""
        try:
            response = self._request("GET", ref, f"referrers/{digest}", accept=INDEX_TYPES[0])
        except requests.RequestException as exc:
            return Answer(
                error=f"registry {ref.registry} could not be reached ({type(exc).__name__})"
            )
        failed = _failure(ref, digest, response.status_code)
        if failed:
            return Answer(error=failed, status=response.status_code)
        return Answer(digest, INDEX_TYPES[0], response.content, status=response.status_code)

    def tags(self, ref: Reference, pages: int = 20) -> tuple[list[str], str]:
        """Every tag of the repository (``/v2/<name>/tags/list``, following the ``Link``
        header for up to ``pages`` pages); (what was listed, why not all) on a problem."""
        found: list[str] = []
        path = "tags/list?n=1000"
        for _ in range(pages):
            try:
                response = self._request("GET", ref, path, accept="application/json")
            except requests.RequestException as exc:
                return found, f"registry {ref.registry} could not be reached ({type(exc).__name__})"
            if response.status_code == 404:
                return found, f"{ref.repository} was not found in {ref.registry}"
            failed = _failure(ref, "tags", response.status_code)
            if failed:
                return found, failed
            try:
                found += [str(tag) for tag in response.json().get("tags") or []]
            except (ValueError, AttributeError):
                return found, f"{ref.registry} answered with a tag list that is not JSON"
            following = response.links.get("next", {}).get("url", "")
            if not following:
                break
            path = following.split(f"/v2/{ref.repository}/", 1)[-1]
        return found, ""

    def resolve(self, ref: Reference) -> Answer:
        """The digest the tag points at now (the index digest for a multi-platform image)."""
        return self.manifest(ref, ref.tag)

    def created(self, ref: Reference, digest: str, platform: str = "linux/amd64") -> str:
        """When the image behind ``digest`` was built (the config's ``created``), or ""."""
        answer = self.manifest(ref, digest, "GET")
        try:
            document: dict[str, Any] = json.loads(answer.body or b"{}")
            if answer.media_type in INDEX_TYPES or "manifests" in document:
                os_name, arch = platform.split("/", 1)
                chosen = next(
                    (m for m in document.get("manifests", []) if m.get("platform", {}).get("os") == os_name
                     and m.get("platform", {}).get("architecture") == arch),
                    (document.get("manifests") or [{}])[0],
                )  # fmt: skip
                answer = self.manifest(ref, chosen.get("digest", ""), "GET")
                document = json.loads(answer.body or b"{}")
            config_digest = document.get("config", {}).get("digest", "")
            if not config_digest:
                return ""
            blob = self._request("GET", ref, f"blobs/{config_digest}", accept="*/*")
            return str(blob.json().get("created", "")) if blob.ok else ""
        except (requests.RequestException, ValueError, StopIteration):
            return ""
