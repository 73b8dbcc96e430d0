"""Where every library number comes from: DOI/PMID fields, source kinds, generated doc counts.

Issue 17 asks that every cited quantity carries a DOI or PMID in its own field, and that a source
which has none says why (a label, a database record, a derivation, a publication whose identifier
was not found, or one that could not be identified). These tests fail when a sourced quantity is
unclassified, when an identifier quoted in the source text is missing from the fields, and when
docs/library.md's counts differ from the data.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from pydantic import ValidationError

from mdrsim.data import load_library, tables
from mdrsim.data.schema import Quantity, TextFact
from mdrsim.errors import MdrsimError

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "library.md"
BLOCK = re.compile(r"<!-- provenance:begin[^\n]*-->\n(.*?)\n<!-- provenance:end -->", re.S)
DOI_IN_TEXT = re.compile(r"doi:?\s*(10\.\d{4,9}/[^\s,;]+?)(?:[),;]|\s|$)", re.I)
PMID_IN_TEXT = re.compile(r"PMID:?\s*(\d{6,8})")


def _q(**kw: object) -> Quantity:
    return Quantity.model_validate({"value": 1.0, "unit": "1", "source": "Author 2000", **kw})


def test_every_sourced_quantity_has_an_identifier_or_says_why_not() -> None:
    lib = load_library()
    problems = [
        f"{where}: {q.source[:60]!r}"
        for where, q in tables.all_quantities(lib)
        if q.provenance == "missing"
    ]
    assert problems == []


def test_every_publication_quantity_has_a_doi_or_pmid() -> None:
    for where, q in tables.all_quantities(load_library()):
        if q.provenance == "publication":
            assert q.doi is not None or q.pmid is not None, where
        else:
            assert q.doi is None and q.pmid is None, where


def test_identifiers_quoted_in_the_source_text_are_in_the_fields() -> None:
    """A DOI or PMID written into a source string must also be in the quantity's fields."""
    lib = load_library()
    missing = []
    for where, q in tables.all_quantities(lib):
        if q.assumed:
            continue
        for pmid in PMID_IN_TEXT.findall(q.source):
            if q.pmid != int(pmid) and q.doi is None:
                missing.append(f"{where}: PMID {pmid}")
        dois = [d.rstrip(".") for d in DOI_IN_TEXT.findall(q.source)]
        if dois and q.doi is None and q.pmid is None:
            missing.append(f"{where}: doi {dois[0]}")
    assert missing == []


def test_the_cited_papers_carry_their_identifiers() -> None:
    """Spot checks against identifiers read in the sources' own pages (PubMed/publisher)."""
    lib = load_library()
    dox = lib.drug("doxorubicin")
    assert dox.pk is not None and dox.pk.clearance is not None
    assert (dox.pk.clearance.doi, dox.pk.clearance.pmid) == ("10.1111/bcp.13070", 27447545)
    val = lib.inhibitor("valspodar").ddi["doxorubicin"]
    assert val.pmid == 11223552
    pac = lib.drug("paclitaxel")
    assert pac.myelosuppression is not None
    assert pac.myelosuppression.mtt.pmid == 12488418
    assert lib.cell_line("H69/VDS").fold_resistance["paclitaxel"].doi == "10.1038/bjc.1993.289"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"doi": "doi:10.1111/bcp.13070"}, "is not a DOI"),
        ({"doi": "bcp.13070"}, "is not a DOI"),
        ({"pmid": 0}, "is not a PubMed id"),
        ({"pmid": 123456789}, "is not a PubMed id"),
        ({"source_kind": "publication"}, "needs a doi or a pmid"),
        ({"source_kind": "label", "pmid": 12488418}, "says there is no DOI/PMID"),
        ({"source_kind": "elsewhere"}, "source_kind"),
    ],
)
def test_bad_identifiers_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises((ValidationError, MdrsimError), match=message):
        _q(**fields)


def test_an_assumed_value_takes_no_source_kind() -> None:
    with pytest.raises((ValidationError, MdrsimError), match="assumed value"):
        _q(source="assumed: because", source_kind="derived")


def test_provenance_classes() -> None:
    assert _q().provenance == "missing"  # what the completeness test rejects
    assert _q(pmid=12488418).provenance == "publication"
    assert _q(doi="10.1200/JCO.2002.02.140").provenance == "publication"
    assert _q(source_kind="label").provenance == "label"
    assert _q(source="assumed: x").provenance == "assumed"
    fact = TextFact.model_validate({"value": "q3w", "source": "FDA label", "source_kind": "label"})
    assert fact.provenance == "label"


def test_counts_add_up() -> None:
    c = tables.provenance_counts(load_library())
    assert c["missing"] == 0
    classes = sum(c[k] for k in tables.PROVENANCE_CLASSES)
    assert classes == c["total"] == c["assumed"] + c["sourced"]
    assert c["with_doi_or_pmid"] >= c["publication"]


def _doc_block(text: str) -> str:
    match = BLOCK.search(text)
    assert match is not None, "docs/library.md lost its provenance markers"
    return match.group(1)


def test_library_doc_counts_are_generated_from_the_data() -> None:
    expected = tables.provenance_markdown(load_library())
    assert _doc_block(DOC.read_text(encoding="utf-8")) == expected, (
        "docs/library.md provenance counts are stale: run docs/scripts/library_provenance.py"
    )


def test_a_stale_doc_count_is_caught() -> None:
    """The comparison above fails for the old hand-written numbers (398 / 194 / 68)."""
    fresh = tables.provenance_markdown(load_library())
    stale = re.sub(r"^Of \d+ quantities", "Of 398 quantities", fresh)
    assert stale != fresh
    text = DOC.read_text(encoding="utf-8").replace(fresh, stale)
    assert _doc_block(text) != fresh


def test_the_doc_script_check_mode_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    script = runpy.run_path(str(ROOT / "docs" / "scripts" / "library_provenance.py"))
    assert script["main"](["--check"]) == 0
