"""A report as sections of rows, rendered to plain text (e-mail, chat, the terminal) and to a
self-contained HTML page (no external assets)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Section:
    title: str
    headers: tuple[str, ...] = ()
    rows: Sequence[tuple[str, ...]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # prose before the table
    empty: str = "none"


@dataclass
class Report:
    title: str
    summary: str  # one line: a notification's title
    sections: list[Section] = field(default_factory=list)

    def text(self) -> str:
        out = [self.title, "=" * len(self.title), self.summary, ""]
        for section in self.sections:
            out.append(section.title)
            out.append("-" * len(section.title))
            out += section.lines
            if section.rows:
                out += _columns(section.headers, section.rows)
            elif not section.lines:
                out.append(section.empty)
            out.append("")
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        parts = [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1><p class='summary'>{html.escape(self.summary)}</p>",
        ]
        for section in self.sections:
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
            parts += [f"<p>{html.escape(line)}</p>" for line in section.lines]
            if section.rows:
                head = "".join(f"<th>{html.escape(h)}</th>" for h in section.headers)
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    for row in section.rows
                )
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif not section.lines:
                parts.append(f"<p class='empty'>{html.escape(section.empty)}</p>")
        parts.append("</body></html>\n")
        return "".join(parts)


def _columns(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    table = [headers, *rows] if headers else rows
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    if headers:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:1100px}"
    "h1{font-size:20px}h2{font-size:15px;margin-top:22px;border-bottom:1px solid #d0d7de}"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    "th,td{text-align:left;padding:3px 10px 3px 0;border-bottom:1px solid #eaeef2}"
    "th{color:#59636e;font-weight:500}.summary{font-size:16px}.empty{color:#59636e}"
)


def money(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"
