"""The shell of report.html: one self-contained page (styles, plotly.js once, a table sorter) around its sections.

Self-contained so it opens offline, from an e-mail or from MLflow's artifact view: plotly.js is
inlined once in the head (about 4.7 MB, most of the file) and every figure is written without it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from plotly.offline import get_plotlyjs

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 0 24px 48px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
nav a { margin-right: 1em; }
p.lead, p.note { color: #555; max-width: 75em; }
p.why { color: #8a4b00; font-style: italic; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; white-space: nowrap; }
.scroll td { max-width: 28em; overflow: hidden; text-overflow: ellipsis; }
th { background: #f4f4f4; }
table.sortable th { cursor: pointer; }
table.sortable th[data-order="asc"]::after { content: " \\25B2"; }
table.sortable th[data-order="desc"]::after { content: " \\25BC"; }
.scroll { overflow-x: auto; max-height: 36em; overflow-y: auto; }
"""

# Click a header to sort by its column, again to reverse; numbers as numbers, empty cells last.
# A few lines of our own: no table library is worth inlining for a click-to-sort table.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((header) => {
  header.addEventListener("click", () => {
    const table = header.closest("table");
    const column = header.cellIndex;
    const order = header.dataset.order === "asc" ? "desc" : "asc";
    table.querySelectorAll("th").forEach((other) => delete other.dataset.order);
    header.dataset.order = order;
    const key = (row) => {
      const text = row.cells[column].textContent.trim();
      const number = Number(text.split(" ")[0]);
      return text === "" ? null : Number.isNaN(number) ? text : number;
    };
    const compare = (a, b) => {
      if (a === null || b === null) return (a === null) - (b === null);
      const sign = order === "asc" ? 1 : -1;
      if (typeof a === typeof b) return sign * (a < b ? -1 : a > b ? 1 : 0);
      return sign * (typeof a === "number" ? -1 : 1);
    };
    const body = table.tBodies[0];
    body.append(...[...body.rows].sort((a, b) => compare(key(a), key(b))));
  });
});
"""


@dataclass(frozen=True)
class Section:
    """One part of the page: `body` is its HTML (a figure, a table) or one line saying why there is none."""

    id: str
    title: str
    body: str


def why(line: str) -> str:
    """A section that cannot be drawn says why in one line instead of vanishing."""
    return f'<p class="why">{html.escape(line)}</p>'


def note(line: str) -> str:
    return f'<p class="note">{html.escape(line)}</p>'


def page(title: str, lead: str, sections: list[Section]) -> str:
    """The whole document: head (styles, plotly.js), a title, links to the sections, the sections, the sorter."""
    links = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{STYLE}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="lead">{html.escape(lead)}</p>',
        f"<nav>{links}</nav>",
        *(f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>{s.body}</section>' for s in sections),
        f"<script>{SORT_SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts)
