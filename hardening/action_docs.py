"""The README's inputs and outputs tables, generated from action.yml.

python -m hardening.action_docs   # rewrites the tables between the markers in README.md
"""

from __future__ import annotations

import sys
from pathlib import Path

BEGIN = "<!-- action-reference:begin (generated from action.yml by `python -m hardening.action_docs`) -->"
END = "<!-- action-reference:end -->"


def tables(action_yml: str) -> str:
    from ruamel.yaml import YAML

    document = YAML(typ="safe").load(action_yml)
    lines = ["| input | default | description |", "|---|---|---|"]
    for name, spec in document["inputs"].items():
        default = str(spec.get("default", "")).replace("|", "\\|")
        lines.append(
            f"| `{name}` | `{default}` | {spec.get('description', '')} |"
            if default
            else f"| `{name}` | | {spec.get('description', '')} |"
        )
    lines += ["", "| output | description |", "|---|---|"]
    for name, spec in document["outputs"].items():
        lines.append(f"| `{name}` | {spec.get('description', '')} |")
    return "\n".join(lines)


def render(readme: str, action_yml: str) -> str:
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    return readme[:start] + "\n" + tables(action_yml) + "\n" + readme[end:]


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    readme = root / "README.md"
    readme.write_text(render(readme.read_text(), (root / "action.yml").read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
