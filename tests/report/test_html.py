"""Unit tests of the HTML report builder: escaping, number formatting, structure, atomic write."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mdrsim.errors import ReportError
from mdrsim.report import html as report_html
from mdrsim.report.html import Section, format_number, render_html, write_html

# Anything the browser would fetch: src/href/srcset/poster attributes that are not data: URIs
# or in-page anchors, CSS url() and @import.
RESOURCE_REF = re.compile(
    r"""(?:\b(?:src|href|srcset|poster|action|data)\s*=\s*["']?(?!data:|\#)[^"'\s>]+)"""
    r"""|url\(\s*["']?(?!data:)|@import""",
    re.IGNORECASE,
)


def tiny_png() -> bytes:
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=20)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "—"),
        (np.nan, "—"),
        (None, "—"),
        (pd.NA, "—"),
        (pd.NaT, "—"),
        (np.float32("nan"), "—"),
        (float("inf"), "∞"),
        (-np.inf, "-∞"),
        (0.0, "0"),
        (1.0, "1"),
        (3.14159265, "3.142"),
        (-0.000123456, "-0.0001235"),
        (1.23456e-7, "1.235e-7"),
        (12345.678, "1.235e4"),
        (np.float64(2.5e10), "2.5e10"),
        (7, "7"),
        (np.int64(123456789), "123456789"),  # integers in full: counts are exact
        (True, "True"),
        ("<b>", "<b>"),  # format only; escaping is the renderer's job (tested below)
    ],
)
def test_format_number(value: object, expected: str) -> None:
    assert format_number(value) == expected


def test_format_number_significant_digits() -> None:
    assert format_number(np.pi, sig=2) == "3.1"
    assert format_number(np.pi, sig=6) == "3.14159"


def test_user_strings_are_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script>&'
    df = pd.DataFrame({evil: [evil, "ok"], "n": [1.0, 2.0]}, index=pd.Index([evil, "b"]))
    text = render_html(
        evil,
        [
            Section(
                evil,
                text=evil,
                tables=[(evil, df)],
                figures=[(evil, tiny_png())],
            )
        ],
        provenance={evil: evil},
        subtitle=evil,
    )
    assert "<script" not in text.lower()
    assert "alert(&quot;x&quot;)" in text
    # title, h1, subtitle, toc, h2, paragraph, caption, header, index, cell, img alt,
    # figcaption, dt, dd: 14 places.
    assert text.count("&lt;script&gt;") == 14
    assert "&amp;" in text


def test_text_paragraphs_split_on_blank_lines() -> None:
    text = render_html(
        "T", [Section("S", text="first line\nsame paragraph\n  \n\nsecond\r\n\r\nthird")]
    )
    assert "<p>first line same paragraph</p>" in text
    assert "<p>second</p>" in text
    assert "<p>third</p>" in text


def test_structure_toc_sections_tables_figures_provenance() -> None:
    df = pd.DataFrame({"clone": ["parental", "mdr1_high"], "IC50 (µM)": [0.0123456, np.nan]})
    sections = [
        Section("Tumour", text="t", tables=[("Clones", df)]),
        Section("Marrow", figures=[("ANC", tiny_png())]),
    ]
    text = render_html(
        "Patient 1",
        sections,
        provenance={"mdrsim version": "0.1.0", "seed": 42, "params": {"b": 2, "a": 1}},
        subtitle="scenario.yaml",
    )
    assert text.startswith("<!DOCTYPE html>")
    assert '<a href="#section-1">Tumour</a>' in text
    assert '<a href="#section-2">Marrow</a>' in text
    assert '<section id="section-2">' in text
    assert '<td class="num">0.01235</td>' in text
    assert '<td class="missing">—</td>' in text
    assert "<caption>Clones</caption>" in text
    assert "<dt>seed</dt><dd>42</dd>" in text
    assert "<dd>{&quot;a&quot;: 1, &quot;b&quot;: 2}</dd>" in text  # nested: JSON, sorted
    assert text.count("<img ") == 1
    assert 'src="data:image/png;base64,' in text
    assert "@media print" in text
    assert "Content-Security-Policy" in text
    assert not RESOURCE_REF.search(text), RESOURCE_REF.search(text)
    assert "http://" not in text and "https://" not in text


def test_resource_pattern_catches_external_references() -> None:
    # The pattern the report is checked with must be able to fail.
    for bad in (
        '<img src="https://cdn.example/x.png">',
        "<link href='http://fonts.example/css'>",
        "<style>body{background:url(https://x/y.png)}</style>",
        '<style>@import "x.css";</style>',
        '<img src="logo.png">',
    ):
        assert RESOURCE_REF.search(bad), bad
    for good in ('<img src="data:image/png;base64,AAAA">', '<a href="#section-1">'):
        assert not RESOURCE_REF.search(good), good


def test_index_shown_only_when_informative() -> None:
    plain = pd.DataFrame({"x": [1.5]})
    named = pd.DataFrame({"x": [1.5]}, index=pd.Index(["doxorubicin"], name="drug"))
    assert '<th scope="row">' not in render_html("T", [Section("S", tables=[("", plain)])])
    text = render_html("T", [Section("S", tables=[("", named)])])
    assert '<th scope="col">drug</th>' in text
    assert '<th scope="row">doxorubicin</th>' in text


def test_figure_sources_figure_bytes_path(tmp_path: Path) -> None:
    png = tiny_png()
    path = tmp_path / "f.png"
    path.write_bytes(png)
    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    text = render_html("T", [Section("S", figures=[("a", fig), ("b", png), ("c", path)])])
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(uris) == 3
    assert base64.b64decode(uris[1]) == png
    assert base64.b64decode(uris[2]) == png
    assert base64.b64decode(uris[0]).startswith(report_html.PNG_SIGNATURE)
    # width/height from the PNG header: 2x1 in at the default 150 dpi, tight bbox trims.
    width, height = re.findall(r'width="(\d+)" height="(\d+)"', text)[0]
    assert int(width) > int(height) > 0


def test_non_png_figure_is_rejected() -> None:
    with pytest.raises(ReportError, match="not a PNG"):
        render_html("T", [Section("S", figures=[("jpeg", b"\xff\xd8\xff\xe0 not png")])])
    with pytest.raises(ReportError, match="truncated"):
        render_html("T", [Section("S", figures=[("cut", tiny_png()[:-200])])])
    with pytest.raises(ReportError, match="matplotlib Figure"):
        render_html("T", [Section("S", figures=[("x", 3)])])  # type: ignore[list-item]


def test_no_provenance_no_toc_when_empty() -> None:
    text = render_html("Only a title", [])
    assert "<h1>Only a title</h1>" in text
    assert "provenance" not in text.split("<body>")[1]
    assert 'class="toc"' not in text


def test_write_html_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "sub" / "report.html"
    written = write_html(out, "First", [Section("A", text="one")])
    assert written == out
    assert "<h1>First</h1>" in out.read_text(encoding="utf-8")
    assert os.stat(out).st_mode & 0o777 == 0o644

    # A failure at the final rename leaves the previous report intact and no temp file.
    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_html.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_html(out, "Second", [Section("B")])
    assert "<h1>First</h1>" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    monkeypatch.undo()

    # A failure while rendering never touches the file.
    with pytest.raises(ReportError):
        write_html(out, "Third", [Section("C", figures=[("bad", b"nope")])])
    assert "<h1>First</h1>" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]

    write_html(str(out), "Fourth", [Section("D")])
    assert "<h1>Fourth</h1>" in out.read_text(encoding="utf-8")
