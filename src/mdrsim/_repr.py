"""Rich notebook display (``_repr_html_``) shared by the core's result objects.

Kept in the core and free of :mod:`mdrsim.report` (the core never imports it): a small HTML
table and one small inline PNG figure, drawn with matplotlib imported only when a notebook
asks for the display. Every string shown is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["figure_html", "table_html"]

_STYLE = "border-collapse:collapse;font-size:12px;margin:4px 0"
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        v = float(value)
        if np.isnan(v):
            return "—"
        return f"{v:.4g}"
    return "—" if value is None else str(value)


def table_html(title: str, rows: Iterable[Sequence[Any]], header: Sequence[str] = ()) -> str:
    """A compact table: optional header, one row per sequence."""
    head = "".join(f'<th style="{_CELL}">{html.escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{html.escape(_fmt(v))}</td>' for v in row) + "</tr>"
        for row in rows
    )
    return (
        f'<table style="{_STYLE}"><caption style="text-align:left;font-weight:600">'
        f"{html.escape(title)}</caption>"
        + (f"<thead><tr>{head}</tr></thead>" if head else "")
        + f"<tbody>{body}</tbody></table>"
    )


def figure_html(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    xlabel: str,
    ylabel: str,
    log: bool = False,
    width: float = 4.2,
    height: float = 2.2,
) -> str:
    """One small line plot as an inline PNG (empty string when there is nothing to draw)."""
    if not curves:
        return ""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.17, 0.24, 0.8, 0.7))
    for label, (x, y) in curves.items():
        ax.plot(x, y, lw=1.4, label=label)
    if log and all(np.nanmin(y) > 0 for _, y in curves.values()):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=7, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(ylabel)}" src="data:image/png;base64,{data}">'
