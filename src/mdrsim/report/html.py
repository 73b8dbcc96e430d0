"""Self-contained HTML reports: one file with inline CSS and figures as base64 PNG data URIs.

A report must open years later, offline, from an e-mail attachment or an archive, and show
exactly what was computed: so nothing is fetched (no fonts, CDNs, scripts), and a
Content-Security-Policy forbids the browser to load anything that is not inline. Every string
that comes from the user (scenario names and descriptions are read from files) is
HTML-escaped; markup is only ever produced by this module.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import numbers
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from mdrsim.errors import ReportError

if TYPE_CHECKING:
    # Imported lazily below: a report of PNG files (`mdrsim run --no-figures` writes none,
    # the trial report embeds its PNG files) does not pay matplotlib's import.
    from matplotlib.figure import Figure

__all__ = ["Section", "format_number", "render_html", "write_html"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MISSING = "—"  # shown for NaN / None / NA: an empty cell reads as a layout bug

# The policy allows inline styles and data: images only. It is what makes "self-contained"
# true in the browser and not just in our tests: a stray URL would be blocked, not fetched.
_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

_CSS = """
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #d0d4da; --accent: #1f5fa8; --band: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1.5rem 1.25rem 3rem; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; }
header h1 { margin: 0 0 .25rem; font-size: 1.7rem; line-height: 1.2; }
header .subtitle { margin: 0 0 1rem; color: var(--muted); font-size: 1.05rem; }
h2 { margin: 2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid var(--rule);
  font-size: 1.3rem; }
a { color: var(--accent); }
nav.toc { background: var(--band); border: 1px solid var(--rule); border-radius: 4px;
  padding: .6rem 1rem; margin: 1rem 0; }
nav.toc h2 { margin: 0 0 .3rem; border: 0; font-size: 1rem; }
nav.toc ol { margin: 0; padding-left: 1.4rem; }
dl.provenance { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem;
  margin: .5rem 0; font-size: .88rem; }
dl.provenance dt { font-weight: 600; color: var(--muted); }
dl.provenance dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; margin: .8rem 0 1.2rem; }
table { border-collapse: collapse; font-size: .88rem; font-variant-numeric: tabular-nums;
  max-width: 100%; }
th, td { overflow-wrap: anywhere; }
section.key { border: 2px solid var(--accent); border-radius: 6px; padding: .6rem 1rem;
  margin: 1rem 0; }
section.key h2 { margin: 0 0 .4rem; border: 0; font-size: 1.15rem; }
section.key dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem;
  margin: 0; }
section.key dt { font-weight: 600; }
section.key dd { margin: 0; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); }
td.num { text-align: right; white-space: nowrap; }
td.missing { color: var(--muted); text-align: center; }
tbody tr:nth-child(even) { background: var(--band); }
figure { margin: 1rem 0 1.5rem; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { margin-top: .3rem; color: var(--muted); font-size: .88rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .8rem; }
@media print {
  @page { margin: 15mm; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  a { color: inherit; text-decoration: none; }
  nav.toc { background: none; }
  tbody tr:nth-child(even) { background: none; }
  section > h2 { break-after: avoid; }
  figure, .table-wrap, table, dl.provenance { break-inside: avoid; }
  .table-wrap { overflow: visible; }
}
"""


@dataclass
class Section:
    """One report section: escaped plain text, then tables, then figures."""

    title: str
    text: str = ""  # plain text; paragraphs split on blank lines; ESCAPED
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # (caption, table)
    # (caption, matplotlib Figure / PNG bytes / PNG path)
    figures: list[tuple[str, Figure | bytes | Path]] = field(default_factory=list)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, numbers.Real) and math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def format_number(value: object, sig: int = 4) -> str:
    """Text for one table cell (not escaped): `sig` significant digits for reals, integers in
    full, NaN/None/NA as an em dash, infinities as ∞ and -∞, anything else as str()."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, bool):  # before Integral: bool is an int subclass
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isinf(x):
            return "∞" if x > 0 else "-∞"
        text = f"{x:.{sig}g}"
        if "e" in text:  # 1.235e+04 -> 1.235e4: the sign and zero padding are noise in a table
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
        # ASCII minus kept (not U+2212): values are copied into spreadsheets and scripts.
        return text
    return str(value)


def _paragraphs(text: str) -> str:
    blocks = [
        b for b in (p.strip() for p in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))) if b
    ]
    # Lines inside one paragraph are joined: text written in source code is hard-wrapped.
    return "\n".join(f"<p>{_esc(' '.join(b.split()))}</p>" for b in blocks)


def _header_text(label: object) -> str:
    if isinstance(label, tuple):  # MultiIndex columns
        return " / ".join(str(part) for part in label if str(part) != "")
    return str(label)


def _cell(value: object, sig: int) -> str:
    if _is_missing(value):
        return f'<td class="missing">{MISSING}</td>'
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return f'<td class="num">{_esc(format_number(value, sig))}</td>'
    return f"<td>{_esc(format_number(value, sig))}</td>"


def _table_html(caption: str, df: pd.DataFrame, sig: int) -> str:
    # The index is shown only when it carries information (named or not 0..n-1).
    default_index = (
        isinstance(df.index, pd.RangeIndex)
        and df.index.name is None
        and (df.index.start == 0 and df.index.step == 1)
    )
    show_index = not default_index
    index_label = ""
    if show_index:
        names = [n for n in df.index.names if n is not None]
        index_label = " / ".join(str(n) for n in names)
    head = ["<tr>"]
    if show_index:
        head.append(f'<th scope="col">{_esc(index_label)}</th>')
    head.extend(f'<th scope="col">{_esc(_header_text(c))}</th>' for c in df.columns)
    head.append("</tr>")
    rows = []
    for idx, row in zip(df.index, df.itertuples(index=False, name=None), strict=True):
        cells = []
        if show_index:
            label = _header_text(idx) if isinstance(idx, tuple) else format_number(idx, sig)
            cells.append(f'<th scope="row">{_esc(label)}</th>')
        cells.extend(_cell(v, sig) for v in row)
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table>{cap}<thead>{"".join(head)}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _is_figure(source: object) -> bool:
    """A matplotlib Figure, checked without importing matplotlib when it is not loaded."""
    import sys

    mpl = sys.modules.get("matplotlib.figure")
    return mpl is not None and isinstance(source, mpl.Figure)


def _png_bytes(source: Figure | bytes | Path | str, dpi: int) -> bytes:
    if _is_figure(source):
        buf = io.BytesIO()
        cast("Figure", source).savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        data = buf.getvalue()
    elif isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        data = Path(source).read_bytes()
    else:
        kind = type(source).__name__
        raise ReportError(f"figure must be a matplotlib Figure, PNG bytes or a path, not {kind}")
    # Fail at build time, not as a broken image in someone's browser months later.
    if not data.startswith(PNG_SIGNATURE):
        raise ReportError("figure is not a PNG image (bad signature)")
    # A PNG ends with its IEND chunk; browsers show a truncated one half-drawn, silently.
    if b"IEND" not in data[-64:]:
        raise ReportError("figure is not a complete PNG image (no IEND chunk: truncated?)")
    return data


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, so the browser reserves space before decoding."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ReportError("figure is not a PNG image (no IHDR chunk)")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _figure_html(caption: str, source: Figure | bytes | Path, dpi: int) -> str:
    data = _png_bytes(source, dpi)
    width, height = _png_size(data)
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{uri}" alt="{_esc(caption)}" width="{width}" height="{height}">'
        f"{cap}</figure>"
    )


def _provenance_value(value: object) -> str:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return str(value)


def render_html(
    title: str,
    sections: Sequence[Section],
    *,
    provenance: dict[str, Any] | None = None,
    subtitle: str = "",
    sig_digits: int = 4,
    figure_dpi: int = 150,
    lang: str = "en",
    key_results: Sequence[tuple[str, str]] = (),
) -> str:
    """The report as one HTML document (str). `key_results` ((label, text) pairs) are shown
    first, in a box under the title, so the headline numbers are on the first screen;
    `provenance` is rendered as a definition list in the given order; figures given as
    matplotlib Figures are rendered at `figure_dpi` and are not closed (the caller owns
    them)."""
    toc = "".join(
        f'<li><a href="#section-{i}">{_esc(s.title)}</a></li>' for i, s in enumerate(sections, 1)
    )
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_esc(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_esc(_CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="mdrsim">',
        f"<title>{_esc(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_esc(title)}</h1>",
    ]
    if subtitle:
        parts.append(f'<p class="subtitle">{_esc(subtitle)}</p>')
    parts.append("</header>")
    if key_results:
        items = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in key_results)
        parts.append(
            f'<section class="key" id="key-results"><h2>Key results</h2><dl>{items}</dl></section>'
        )
    if provenance:
        items = "".join(
            f"<dt>{_esc(k)}</dt><dd>{_esc(_provenance_value(v))}</dd>"
            for k, v in provenance.items()
        )
        parts.append(
            '<section class="provenance-block"><h2>Provenance</h2>'
            f'<dl class="provenance">{items}</dl></section>'
        )
    if sections:
        parts.append(f'<nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav>')
    parts.append("<main>")
    for i, section in enumerate(sections, 1):
        parts.append(f'<section id="section-{i}">')
        parts.append(f"<h2>{_esc(section.title)}</h2>")
        if section.text:
            parts.append(_paragraphs(section.text))
        parts.extend(_table_html(cap, df, sig_digits) for cap, df in section.tables)
        parts.extend(_figure_html(cap, fig, figure_dpi) for cap, fig in section.figures)
        parts.append("</section>")
    parts.append("</main>")
    parts.append(
        "<footer>Generated by mdrsim. This file is self-contained: it loads nothing "
        "from the network.</footer>"
    )
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def write_html(
    path: str | Path,
    title: str,
    sections: Sequence[Section],
    *,
    provenance: dict[str, Any] | None = None,
    subtitle: str = "",
    sig_digits: int = 4,
    figure_dpi: int = 150,
    lang: str = "en",
    key_results: Sequence[tuple[str, str]] = (),
) -> Path:
    """Render and write atomically (temp file in the same directory + os.replace), so a
    reader never sees a half-written report and a failed render leaves the old one intact."""
    text = render_html(
        title,
        sections,
        provenance=provenance,
        subtitle=subtitle,
        sig_digits=sig_digits,
        figure_dpi=figure_dpi,
        lang=lang,
        key_results=key_results,
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
