"""Real Dockerfile lines for image findings.

A vulnerable package lives in a layer (Trivy's ``Layer.DiffID``, Grype's ``layerID``). The
image's layer list pairs each layer with the history entry that made it, and BuildKit's history
text (``RUN /bin/sh -c apt-get install ... # buildkit``) names the Dockerfile instruction. The
final stage's own instructions made the last layers; everything before them came with the base
image and points at the final stage's FROM line. Whatever cannot be mapped points at the FROM
line too, with the path inside the image in the message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from hardening.model import Finding, ImageInfo, Kind, LayerInfo, Location
from hardening.targets.dockerfile import DockerfileModel, Instruction, pairs, parse_dockerfile

LAYER_COMMANDS = ("RUN", "COPY", "ADD", "WORKDIR")
_BUILDKIT_SUFFIX = re.compile(r"\s*#\s*buildkit\s*$")
_RUN_ARGS = re.compile(r"^RUN \|\d+ (?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*")
_SHELL_PREFIX = re.compile(
    r"^(?:/bin/(?:ba)?sh -c |/bin/sh -o pipefail -c |/bin/bash -o pipefail -c )"
)
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")


def dockerfile_index_from_text(text: str, path: str, target: str = "") -> DockerfileModel:
    return parse_dockerfile(text, path, target)


def _normalize(text: str) -> str:
    return " ".join(text.split())


def _history_command(created_by: str) -> tuple[str, str]:
    """(instruction keyword, its normalized arguments) from a history entry."""
    text = _BUILDKIT_SUFFIX.sub("", created_by.strip())
    text = _NOP.sub("", text)
    text = _RUN_ARGS.sub("RUN ", text)
    keyword, _, rest = text.partition(" ")
    keyword = keyword.upper()
    if keyword == "RUN":
        rest = _SHELL_PREFIX.sub("", rest.strip())
    elif keyword.startswith("/BIN/SH"):  # legacy builder: "/bin/sh -c apt-get ..."
        keyword, rest = "RUN", _SHELL_PREFIX.sub("", text)
    return keyword, _normalize(rest)


def _instruction_matches(instruction: Instruction, keyword: str, args: str) -> bool:
    if instruction.cmd != keyword:
        return False
    if keyword == "RUN":
        script = _normalize(re.sub(r"\\\r?\n", " ", " ".join(instruction.value)))
        if instruction.heredocs:
            return True  # heredoc text is recorded differently; the keyword and order decide
        return bool(script) and (script in args or args in script or script[:60] == args[:60])
    if keyword in ("COPY", "ADD"):
        dest = instruction.value[-1] if instruction.value else ""
        return not dest or args.endswith(dest) or dest.rstrip("/") in args
    return True


def map_layers(
    layers: Sequence[LayerInfo], model: DockerfileModel
) -> dict[str, Instruction | None]:
    """diff id -> the final stage's instruction that made it, or None for base-image layers."""
    own = [
        instruction
        for stage in model.chain()
        for instruction in stage.instructions[1:]
        if instruction.cmd in LAYER_COMMANDS
    ]
    mapping: dict[str, Instruction | None] = {}
    cursor = len(own) - 1
    for layer in reversed(layers):
        keyword, args = _history_command(layer.created_by)
        match_at = None
        for index in range(cursor, -1, -1):
            if _instruction_matches(own[index], keyword, args):
                match_at = index
                break
        if match_at is None:
            mapping[layer.diff_id] = None
            if keyword in LAYER_COMMANDS and cursor >= 0 and layer.created_by.endswith("buildkit"):
                continue
            # Below the first instruction of the final stage: the base image.
            cursor = -1
            continue
        mapping[layer.diff_id] = own[match_at]
        cursor = match_at - 1
    return mapping


def locate_image_findings(
    findings: Sequence[Finding], image: ImageInfo | None, model: DockerfileModel | None
) -> list[Finding]:
    if model is None or model.final is None:
        return [_without_dockerfile(f) for f in findings]
    root = model.root_base() or model.final
    from_line = model.final.from_line
    mapping = map_layers(image.layers, model) if image is not None else {}
    user_line = _last_line(model, ("USER",)) or from_line
    entry_line = _last_line(model, ("ENTRYPOINT", "CMD")) or user_line
    out = []
    for finding in findings:
        loc = finding.location
        if loc.path and loc.line:
            out.append(finding)
            continue
        if finding.kind is Kind.RUNTIME:
            line = user_line if "C03" in finding.checklist else entry_line
            out.append(
                replace(finding, location=replace(loc, path=model.path, line=line, end_line=line))
            )
            continue
        inside = loc.image_path or (finding.package.path if finding.package else "")
        env_name = finding.property("env-name")
        env_line = _defining_line(model, env_name) if env_name else 0
        if env_line:
            out.append(
                replace(
                    finding,
                    location=replace(loc, path=model.path, line=env_line, end_line=env_line),
                )
            )
            continue
        if loc.layer and loc.layer in mapping:
            instruction = mapping[loc.layer]
            if instruction is not None:
                new = replace(
                    loc, path=model.path, line=instruction.line, end_line=instruction.end_line
                )
            else:
                base = root.base_resolved or "the base image"
                new = replace(loc, path=model.path, line=from_line, end_line=from_line,
                              note=f"comes with the base image {base}")  # fmt: skip
        else:
            where = f"; in the image at {inside}" if inside else ""
            new = replace(loc, path=model.path, line=from_line, end_line=from_line,
                          note=f"the layer that added it could not be mapped to a Dockerfile line{where}")  # fmt: skip
        out.append(replace(finding, location=new))
    return out


def _without_dockerfile(finding: Finding) -> Finding:
    loc = finding.location
    if loc.path:
        return finding
    inside = loc.image_path or (finding.package.path if finding.package else "")
    if not inside:
        return finding
    return replace(
        finding,
        location=Location(
            path=inside.lstrip("/"),
            line=1,
            end_line=1,
            image_path=inside,
            layer=loc.layer,
            note="located at its path inside the image; pass the Dockerfile to place it on a line",
        ),
    )


def _defining_line(model: DockerfileModel, name: str) -> int:
    """The last ENV or ARG line of the final stage's chain that sets ``name``."""
    for stage in reversed(model.chain()):
        for instruction in reversed(stage.instructions):
            if instruction.cmd in ("ENV", "ARG") and name in {n for n, _ in pairs(instruction)}:
                return instruction.line
    return 0


def _last_line(model: DockerfileModel, commands: tuple[str, ...]) -> int:
    for stage in reversed(model.chain()):
        for instruction in reversed(stage.instructions):
            if instruction.cmd in commands:
                return instruction.line
    return 0
