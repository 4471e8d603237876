"""The GitHub job summary: when ``GITHUB_STEP_SUMMARY`` names a file, each run
appends a Markdown table of its files and a list of its findings to it."""

from __future__ import annotations

import os
import sys

from .report import LABEL, Result, finding_place, verdict

_ICON = {"incompatible": "❌", "removed": "❌", "error": "⚠️"}


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") if value is not None else ""


def render_markdown(results: list[Result], command: str, *, error: str | None = None) -> str:
    lines = [f"### schemahub {command}: {'FAILED: errors' if error else verdict(results)}", ""]
    if error:
        return "\n".join([*lines, f"> {_cell(error)}", ""])
    if not results:
        return "\n".join([*lines, "Nothing to check.", ""])
    lines += ["| | file | subject | level | status |", "|---|---|---|---|---|"]
    for r in results:
        status = LABEL.get(r.status, r.status)
        if r.findings:
            status += f" ({len(r.findings)} change{'s' if len(r.findings) > 1 else ''})"
        lines.append(f"| {_ICON.get(r.status, '✅')} | `{_cell(r.file)}` | {_cell(r.subject)} | {_cell(r.level)} "
                     f"| {_cell(status)} |")
    details = [r for r in results if r.findings or (r.status in ("removed", "error") and r.messages)]
    for r in details:
        lines += ["", f"**`{_cell(r.file)}`**" + (f" against {_cell(r.against)}" if r.against else ""), ""]
        lines += [f"- `{_cell(finding_place(r, f))}` {_cell(f.message)}" for f in r.findings]
        if not r.findings:
            lines += [f"- {_cell(m)}" for m in r.messages]
    return "\n".join([*lines, ""])


def write_step_summary(results: list[Result], command: str, *, error: str | None = None) -> None:
    """Append the summary to ``$GITHUB_STEP_SUMMARY`` when it is set; a write failure is only a warning."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(render_markdown(results, command, error=error) + "\n")
    except OSError as exc:
        print(f"schemahub {command}: warning: cannot write the job summary: {exc}", file=sys.stderr)
