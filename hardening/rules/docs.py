"""Rule documentation: `hardening rules ID` and the generated docs/rules.md.

Regenerate the reference with ``python -m hardening.rules.docs > docs/rules.md``; a test fails
when it is stale.
"""

from __future__ import annotations

import textwrap

from hardening.checklist import CHECKLIST
from hardening.model import RuleDoc

TARGETS = {
    "dockerfile": "Dockerfile",
    "context": "Build context",
    "compose": "Compose file",
    "image": "Built image",
    "runtime": "Runtime probes",
}


def format_rule(doc: RuleDoc) -> str:
    items = ", ".join(f"{c} ({CHECKLIST.get(c, '')})" for c in doc.checklist) or "-"
    lines = [
        f"{doc.id}  {doc.name}",
        f"  {doc.title}",
        f"  severity: {doc.severity.value}   target: {doc.target}   checklist: {items}",
    ]
    if doc.owasp:
        lines.append(f"  OWASP: {doc.owasp}")
    if doc.cross_refs:
        lines.append(f"  equivalent checks: {', '.join(doc.cross_refs)}")
    lines += ["", "Why:", textwrap.indent(textwrap.fill(doc.why, 92), "  "), ""]
    lines += ["Fix:", textwrap.indent(textwrap.fill(doc.fix, 92), "  ")]
    if doc.example_bad:
        lines += ["", "Before:", textwrap.indent(doc.example_bad, "  ")]
    if doc.example_good:
        lines += ["", "After:", textwrap.indent(doc.example_good, "  ")]
    return "\n".join(lines)


def reference(docs: list[RuleDoc]) -> str:
    out = [
        "# Rules reference",
        "",
        "Generated from the rules' own metadata by `python -m hardening.rules.docs > docs/rules.md`;",
        "do not edit by hand. `hardening rules ID` prints one rule.",
        "",
        "Silence a finding on the line it points at with a comment on the line before it:",
        "`# docker-hardening-ignore DH-D101 <the reason>` (a reason is required).",
        "",
    ]
    for target, title in TARGETS.items():
        group = [d for d in docs if d.target == target]
        if not group:
            continue
        out += [
            f"## {title}",
            "",
            "| id | name | severity | checklist | title |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| [{d.id}](#{d.id.lower()}) | `{d.name}` | {d.severity.value} | {', '.join(d.checklist)} | {d.title} |"
            for d in group
        ]
        out.append("")
        for d in group:
            out += [f"### {d.id}", "", f"**{d.title}** (`{d.name}`, {d.severity.value}"]
            out[-1] += f"; checklist {', '.join(d.checklist)}" if d.checklist else ""
            out[-1] += f"; OWASP {d.owasp})" if d.owasp else ")"
            out += ["", d.why, "", f"**Fix:** {d.fix}", ""]
            if d.example_bad:
                out += ["Before:", "", "```dockerfile", d.example_bad, "```", ""]
            if d.example_good:
                out += ["After:", "", "```dockerfile", d.example_good, "```", ""]
            if d.cross_refs:
                out += [f"Equivalent checks: {', '.join(d.cross_refs)}", ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    from hardening.rules.registry import all_docs

    print(reference(all_docs()), end="")


if __name__ == "__main__":
    main()
