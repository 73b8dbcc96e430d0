"""The curated drug / inhibitor / cell-line library: content, provenance, schema errors, lookups."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdrsim.data import (
    ConcentrationError,
    LibraryError,
    UnknownNameError,
    clear_library_cache,
    load_library,
    parse_concentration,
    quantities,
    tables,
)
from mdrsim.data.library import FILES, Library
from mdrsim.errors import MdrsimError

SUBSTRATE_CLASSES = ("anthracycline", "vinca_alkaloid", "taxane", "epipodophyllotoxin")
NON_SUBSTRATE_CLASSES = ("platinum", "antimetabolite", "alkylating_agent")
REQUIRED_DRUGS = (
    *("doxorubicin", "daunorubicin", "epirubicin", "idarubicin"),
    *("vincristine", "vinblastine", "vinorelbine", "paclitaxel", "docetaxel"),
    *("etoposide", "teniposide", "cisplatin", "carboplatin", "oxaliplatin"),
    *("fluorouracil", "methotrexate", "cytarabine", "gemcitabine"),
    *("cyclophosphamide", "melphalan", "mitoxantrone", "dactinomycin", "colchicine"),
)
PK_DRUGS = ("doxorubicin", "docetaxel", "paclitaxel", "vincristine", "etoposide", "cisplatin")
INHIBITORS = ("verapamil", "ciclosporin", "valspodar", "tariquidar", "zosuquidar", "elacridar")


@pytest.fixture(scope="module")
def lib() -> Library:
    return load_library()


# ------------------------------------------------------------------------------------ content


def test_library_loads_and_is_cached(lib: Library) -> None:
    assert load_library() is lib
    assert len(lib.drugs) >= 16
    assert len(lib.inhibitors) == 6
    assert len(lib.cell_lines) >= 8


def test_drugs_span_the_seven_classes(lib: Library) -> None:
    assert set(REQUIRED_DRUGS) <= set(lib.drugs)
    classes = {d.drug_class for d in lib.drugs.values()}
    assert set(SUBSTRATE_CLASSES + NON_SUBSTRATE_CLASSES) <= classes
    assert all(name == name.lower() for name in lib.drugs)


def _all_quantities(lib: Library) -> list[tuple[str, Any]]:
    out = []
    for table in (lib.drugs, lib.inhibitors, lib.cell_lines):
        for key, entry in table.items():
            out += [(f"{key}.{p}", q) for p, q in quantities(entry)]
    for mod in lib.expression_inhibitors + lib.expression_inducers:
        out += [(f"{mod.name}.{p}", q) for p, q in quantities(mod)]
    return out


def test_every_number_has_a_source(lib: Library) -> None:
    qs = _all_quantities(lib)
    assert len(qs) > 300
    for path, q in qs:
        assert q.source.strip(), path
        assert math.isfinite(q.value), path
        if q.assumed:  # an assumption must say why
            assert len(q.source.split(":", 1)[1].strip()) > 15, path
        if q.range is not None:
            assert q.range[0] <= q.value <= q.range[1], path
    # non-numeric provenance too
    for d in lib.drugs.values():
        assert d.pgp_substrate_source.strip()
    for c in lib.cell_lines.values():
        assert c.pgp_mechanism_source.strip()
        for fold in c.fold_resistance.values():
            assert fold.unit == "fold"


def test_substrate_status_by_class(lib: Library) -> None:
    for d in lib.drugs.values():
        if d.drug_class in SUBSTRATE_CLASSES:
            assert d.pgp_substrate in (True, "weak"), d.name
            assert d.pgp_efficiency.value > 0 and d.pgp_km is not None, d.name
        if d.drug_class in NON_SUBSTRATE_CLASSES:
            assert d.pgp_substrate is False, d.name
            assert d.pgp_efficiency.value == 0 and d.pgp_km is None, d.name
    # mitoxantrone weak, dactinomycin and colchicine substrates (science.md section 2)
    assert lib.drug("mitoxantrone").pgp_substrate == "weak"
    assert lib.drug("dactinomycin").pgp_substrate is True
    assert lib.drug("colchicine").pgp_substrate is True


def test_measured_kms_are_not_assumed(lib: Library) -> None:
    dnr = lib.drug("daunorubicin")
    assert dnr.pgp_km is not None and dnr.pgp_km.value == 1.5 and not dnr.pgp_km.assumed
    assert dnr.pgp_hill is not None and dnr.pgp_hill.value == 2.0
    vbl = lib.drug("vinblastine")
    assert vbl.pgp_km is not None and vbl.pgp_km.value == 2.0 and not vbl.pgp_km.assumed
    dox = lib.drug("doxorubicin")
    assert dox.pgp_km is not None and dox.pgp_km.assumed and "proxy" in dox.pgp_km.source


def test_systemic_pk_for_the_key_drugs(lib: Library) -> None:
    for name in PK_DRUGS:
        pk = lib.drug(name).pk
        assert pk is not None, name
        for field in (
            "compartments",
            "clearance",
            "dose",
            "infusion_duration",
            "pgp_dependent_clearance_fraction",
        ):
            assert getattr(pk, field) is not None, (name, field)
    assert lib.drug("doxorubicin").pk.V3 is not None  # type: ignore[union-attr]
    assert lib.drug("docetaxel").pk.pgp_dependent_clearance_fraction.value == 0.0  # type: ignore[union-attr]
    assert lib.drug("docetaxel").myelosuppression is not None
    # unit conversion helper
    assert lib.drug("vincristine").pk.t_half_alpha.to("h") == pytest.approx(1.9 / 60)  # type: ignore[union-attr]
    assert lib.drug("etoposide").pk.clearance.to("L/h/m2") == pytest.approx(24 * 0.06)  # type: ignore[union-attr]


def test_inhibitors(lib: Library) -> None:
    assert set(INHIBITORS) == set(lib.inhibitors)
    generations = {n: lib.inhibitor(n).generation for n in INHIBITORS}
    assert generations == {
        "verapamil": 1,
        "ciclosporin": 1,
        "valspodar": 2,
        "tariquidar": 3,
        "zosuquidar": 3,
        "elacridar": 3,
    }
    for name in INHIBITORS:
        inh = lib.inhibitor(name)
        assert inh.mechanism in ("competitive", "noncompetitive")
        assert inh.ki.unit == "uM" and inh.clinical_concentration.unit == "uM"
    # the measured DDI hierarchy: 2nd generation large, 3rd generation small
    ddi = lib.ddi("valspodar", "etoposide")
    assert ddi is not None and ddi.value == pytest.approx(-0.57)
    assert lib.ddi("PSC 833", "doxorubicin").value == pytest.approx(-0.50)  # type: ignore[union-attr]
    assert lib.ddi("tariquidar", "docetaxel").value == 0.0  # type: ignore[union-attr]
    assert lib.ddi("zosuquidar", "daunorubicin").value == pytest.approx(-0.10)  # type: ignore[union-attr]
    assert lib.ddi("verapamil", "doxorubicin") is None
    # ng/mL -> uM conversions stated in the notes agree with parse_concentration
    val = lib.inhibitor("valspodar")
    assert parse_concentration(
        "1000 ng/mL", molecular_weight=val.molecular_weight.value
    ) == pytest.approx(val.clinical_concentration.value, rel=0.01)
    assert isinstance(lib.expression_inhibitors, list) and lib.expression_inhibitors


# --------------------------------------------------------------- calibration vs validation


def test_at_least_four_pgp_pairs_calibrate_on_the_selecting_drug(lib: Library) -> None:
    pairs = [
        c
        for c in lib.cell_lines.values()
        if c.pgp_mechanism
        and c.calibration_drug is not None
        and c.calibration_drug == c.selecting_drug
        and c.fold_resistance[c.calibration_drug].use == "calibration"
    ]
    assert len(pairs) >= 4
    assert len([c for c in pairs if not c.fold_resistance[c.calibration_drug].verify]) >= 4  # type: ignore[index]
    for c in pairs:
        parent = lib.cell_line(c.parental)  # type: ignore[arg-type]
        assert parent.is_parental and parent.pgp_density is not None
        assert parent.pgp_density.value == 0
        assert c.pgp_density is None  # calibrated, not entered
        assert lib.drug(c.calibration_drug).pgp_efficiency.value > 0  # type: ignore[arg-type]


def test_validation_pairs_are_disjoint_from_calibration(lib: Library) -> None:
    validation = {(r["line"], r["drug"]) for r in lib.validation_pairs()}
    used = lib.used_for_calibration()
    assert validation, "no validation pairs"
    assert not validation & used
    # every efficiency derivation points at calibration/efficiency entries only
    for d in lib.drugs.values():
        for ref in d.pgp_efficiency.derived_from or []:
            line, _, drug = ref.partition(":")
            assert lib.cell_lines[line].fold_resistance[drug].use in ("calibration", "efficiency")
        if d.is_substrate and not d.pgp_efficiency.assumed:
            assert d.pgp_efficiency.derived_from, d.name
    # the MES-SA/Dx5 pattern was used to set efficiencies, so none of it is validation
    assert not {p for p in validation if p[0] == "MES-SA/Dx5"}
    # validation pairs are P-gp lines and substrates; controls are non-P-gp by construction
    for r in lib.validation_pairs():
        assert r["pgp_line"] and r["substrate"] in ("yes", "weak")
    for r in lib.fold_pairs("control"):
        assert not r["pgp_line"] or r["substrate"] == "no"


def test_reference_line_defines_the_efficiencies(lib: Library) -> None:
    """The five MES-SA/Dx5 folds set their drugs' efficiencies through the full cell model at
    density 1 (research/calibrate_pgp_efficiency.py; reproduced within 2 % by
    tests/reference/test_pgp_library.py). Steady state needs exactly fold − 1; a 72-h assay
    short of steady state needs more, never less (issue 17: fold − 1 made the line density
    1.37)."""
    dx5 = lib.cell_line("MES-SA/Dx5")
    for drug, fold in dx5.fold_resistance.items():
        eff = lib.drug(drug).pgp_efficiency
        assert eff.derived_from == [f"MES-SA/Dx5:{drug}"]
        assert fold.value - 1 <= eff.value <= 1.5 * (fold.value - 1), drug
        assert "calibrate_pgp_efficiency" in (eff.note or ""), drug


# ---------------------------------------------------------------------------- schema errors


_TEXT = {
    f: resources.files("mdrsim.data").joinpath(f).read_text(encoding="utf-8")
    for f in FILES.values()
}
_PARSED: dict[str, Any] = {}
# Test-side speed only (C parser/emitter when available); the library reads with yaml.safe_load.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _copy_library(tmp_path: Path) -> Path:
    for f, text in _TEXT.items():
        (tmp_path / f).write_text(text, encoding="utf-8")
    return tmp_path


def _edit(directory: Path, file: str, *changes: Callable[[dict[str, Any]], Any]) -> None:
    if file not in _PARSED:
        _PARSED[file] = yaml.load(_TEXT[file], Loader=_LOADER)
    # A JSON round trip un-shares YAML anchors/aliases (deepcopy would keep them shared).
    data = json.loads(json.dumps(_PARSED[file]))
    for change in changes:
        change(data)
    text = yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    (directory / file).write_text(text, encoding="utf-8")


def _problems(directory: Path) -> str:
    with pytest.raises(LibraryError) as info:
        load_library(directory)
    assert isinstance(info.value, MdrsimError) and isinstance(info.value, ValueError)
    return str(info.value)


def test_copied_library_loads(tmp_path: Path) -> None:
    lib = load_library(_copy_library(tmp_path))
    assert set(lib.drugs) == set(load_library().drugs)


Change = Callable[[dict[str, Any]], Any]

# Entry-level problems are all collected in one pass, so one broken copy checks them all.
ENTRY_ERRORS: list[tuple[str, Change, str]] = [
    (
        "drugs.yaml",
        lambda d: d["drugs"]["doxorubicin"]["pgp_km"].update(value=-1.0),
        "drugs.yaml: doxorubicin.pgp_km.value: must be > 0",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["cisplatin"].update(permeabilty={"value": 1}),
        "drugs.yaml: cisplatin.permeabilty: Extra inputs are not permitted "
        "(did you mean: permeability",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["daunorubicin"]["permeability"].update(unit="cm"),
        "drugs.yaml: daunorubicin.permeability.unit: 'cm' is not allowed here (its "
        "dimension fits none of them)",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["etoposide"]["molecular_weight"].update(source="  "),
        "drugs.yaml: etoposide.molecular_weight.source: must not be empty",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["carboplatin"].update(
            pgp_km={"value": 1.0, "unit": "uM", "source": "x"}
        ),
        "drugs.yaml: carboplatin.pgp_km: must be absent for a non-substrate",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["paclitaxel"]["pk"]["clearance"].update(value=30.0),
        "drugs.yaml: paclitaxel.pk.clearance.value: 30.0 lies outside its range [12.2, 23.8]",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["idarubicin"].update({"class": "antracycline"}),
        "drugs.yaml: idarubicin.class: Input should be 'anthracycline'",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["vinorelbine"]["emax"].update(value=-1),
        "drugs.yaml: vinorelbine.emax.value: must be >= 0",
    ),
    (
        "drugs.yaml",
        lambda d: d["drugs"]["melphalan"].pop("permeability"),
        "drugs.yaml: melphalan.permeability: required field is missing",
    ),
    (
        "cell_lines.yaml",
        lambda d: d["cell_lines"]["VJ-300"]["fold_resistance"]["vincristine"].update(value=-3),
        "cell_lines.yaml: VJ-300.fold_resistance.vincristine.value: must be >= 0",
    ),
    (
        "cell_lines.yaml",
        lambda d: d["cell_lines"]["2780AD"].update(
            pgp_density={"value": 3.0, "unit": "1", "source": "x"}
        ),
        "cell_lines.yaml: 2780AD.pgp_density: must be null for a P-gp line",
    ),
    (
        "cell_lines.yaml",
        lambda d: d["cell_lines"]["K562r"]["fold_resistance"]["epirubicin"].update(use="training"),
        "cell_lines.yaml: K562r.fold_resistance.epirubicin.use: Input should be 'calibration'",
    ),
    (
        "inhibitors.yaml",
        lambda d: d["inhibitors"]["tariquidar"].update(mechanism="allosteric"),
        "inhibitors.yaml: tariquidar.mechanism: Input should be 'competitive' or 'noncompetitive'",
    ),
    (
        "inhibitors.yaml",
        lambda d: d["inhibitors"]["zosuquidar"]["ki"].update(unit="mg"),
        "inhibitors.yaml: zosuquidar.ki.unit: 'mg' is not allowed here (its dimension fits "
        "none of them): value",
    ),
]

# Problems between entries are checked once every entry is valid on its own.
CROSS_ERRORS: list[tuple[str, Change, str]] = [
    (
        "drugs.yaml",
        lambda d: d["drugs"]["epirubicin"]["pgp_efficiency"].update(
            derived_from=["K562r:epirubicin"]
        ),
        "drugs.yaml: epirubicin.pgp_efficiency.derived_from: 'K562r:epirubicin' has use "
        "'validation'",
    ),
    (
        "cell_lines.yaml",
        lambda d: d["cell_lines"]["MES-SA/Dx5"].update(parental="MES-SAA"),
        "cell_lines.yaml: MES-SA/Dx5.parental: unknown cell line 'MES-SAA' (did you mean: MES-SA",
    ),
    (
        "inhibitors.yaml",
        lambda d: d["inhibitors"]["valspodar"]["ddi"].update(
            etoposid={"value": -0.5, "unit": "fraction", "source": "x"}
        ),
        "inhibitors.yaml: valspodar.ddi.etoposid: unknown drug 'etoposid' (did you mean: etoposide",
    ),
]


@pytest.mark.parametrize("cases", [ENTRY_ERRORS, CROSS_ERRORS], ids=["entries", "cross"])
def test_schema_errors_name_file_entry_and_field(
    tmp_path: Path, cases: list[tuple[str, Change, str]]
) -> None:
    directory = _copy_library(tmp_path)
    for file in FILES.values():
        changes = [change for f, change, _ in cases if f == file]
        if changes:
            _edit(directory, file, *changes)
    text = _problems(directory)
    for _, _, expected in cases:
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert text.count("\n  - ") == len(cases)  # one line per problem, nothing spurious


def test_a_valid_edit_still_loads(tmp_path: Path) -> None:
    directory = _copy_library(tmp_path)
    _edit(
        directory,
        "drugs.yaml",
        lambda d: d["drugs"]["docetaxel"]["pk"]["clearance"].update(value=30.0),
    )
    assert load_library(directory).drug("docetaxel").pk.clearance.value == 30.0  # type: ignore[union-attr]


def test_unsafe_or_malformed_yaml_is_rejected(tmp_path: Path) -> None:
    directory = _copy_library(tmp_path)
    (directory / "drugs.yaml").write_text("drugs: !!python/object/apply:os.getcwd []\n")
    assert "drugs.yaml: not valid YAML" in _problems(directory)
    (directory / "drugs.yaml").write_text("- just\n- a list\n")
    assert "drugs.yaml: the top level must be a mapping" in _problems(directory)
    (directory / "drugs.yaml").unlink()
    assert "drugs.yaml: not found" in _problems(directory)


def test_user_library_is_reloaded_when_a_file_changes(tmp_path: Path) -> None:
    directory = _copy_library(tmp_path)
    first = load_library(directory)
    assert load_library(directory) is first
    _edit(directory, "drugs.yaml", lambda d: d["drugs"]["doxorubicin"]["emax"].update(value=3.0))
    st = (directory / "drugs.yaml").stat()
    os.utime(directory / "drugs.yaml", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    second = load_library(directory)
    assert second is not first and second.drug("doxorubicin").emax.value == 3.0


def test_clear_library_cache_forgets_every_loaded_library(tmp_path: Path) -> None:
    directory = _copy_library(tmp_path)
    packaged, user = load_library(), load_library(directory)
    assert load_library() is packaged and load_library(directory) is user
    # An edit that keeps the file's modification time is invisible to the cache key …
    st = (directory / "drugs.yaml").stat()
    _edit(directory, "drugs.yaml", lambda d: d["drugs"]["doxorubicin"]["emax"].update(value=3.0))
    os.utime(directory / "drugs.yaml", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert load_library(directory) is user
    # … until the cache is cleared: then both libraries are read again.
    clear_library_cache()
    reread = load_library(directory)
    assert reread is not user and reread.drug("doxorubicin").emax.value == 3.0
    assert load_library() is not packaged and load_library() == packaged


# ------------------------------------------------------------------------------ lookups / rows


def test_unknown_names_suggest_close_matches(lib: Library) -> None:
    with pytest.raises(UnknownNameError) as info:
        lib.drug("doxorubicine")
    err = info.value
    assert isinstance(err, KeyError) and isinstance(err, MdrsimError)
    assert "unknown drug 'doxorubicine' (did you mean: doxorubicin" in str(err)
    with pytest.raises(UnknownNameError, match="did you mean: tariquidar"):
        lib.inhibitor("tariquidor")
    with pytest.raises(UnknownNameError, match="did you mean: MES-SA/Dx5"):
        lib.cell_line("MES-SA/DX-5")


def test_lookups_accept_case_and_aliases(lib: Library) -> None:
    assert lib.drug("Adriamycin").name == "doxorubicin"
    assert lib.drug("5-FU").name == "fluorouracil"
    assert lib.inhibitor("PSC 833").name == "valspodar"
    assert lib.inhibitor("Tariquidar").name == "tariquidar"
    assert lib.cell_line("NCI/ADR-RES").id == "MCF-7/AdrR"
    assert lib.cell_line("mes-sa/dx5").id == "MES-SA/Dx5"


def test_rows_are_plain_json(lib: Library) -> None:
    drugs = tables.drug_rows(lib)
    assert len(drugs) == len(lib.drugs)
    assert {
        "name",
        "class",
        "substrate",
        "pgp_km_uM",
        "permeability_nm_s",
        "pgp_efficiency",
        "ic50_parental_uM",
        "sources",
        "assumed",
    } <= set(drugs[0])
    lines = tables.cell_line_rows(lib)
    inhibitors = tables.inhibitor_rows(lib)
    detail = tables.drug_detail(lib, "Adriamycin")
    assert detail["name"] == "doxorubicin" and detail["class"] == "anthracycline"
    assert {r["line"] for r in detail["fold_resistance"]} >= {"MES-SA/Dx5", "2780AD"}
    assert detail["ddi"]["valspodar"]["value"] == pytest.approx(-0.5)
    json.dumps([drugs, lines, inhibitors, detail, lib.validation_pairs()])
    dx5 = next(r for r in lines if r["id"] == "MES-SA/Dx5")
    assert dx5["calibration_drug"] == "doxorubicin" and dx5["calibration_fold"] == 9
    tq = next(r for r in inhibitors if r["name"] == "tariquidar")
    assert tq["t_half_h"] == 24 and tq["ddi_clearance_change"] == {"docetaxel": 0.0}


# ------------------------------------------------------------------------ concentrations


@pytest.mark.parametrize(
    ("text", "mw", "expected"),
    [
        ("100 nM", None, 0.1),
        ("0.1 uM", None, 0.1),
        ("0.1 µM", None, 0.1),  # micro sign
        ("0.1 μM", None, 0.1),  # Greek mu
        ("0.1uM", None, 0.1),
        ("2 mM", None, 2000.0),
        ("1e-3 M", None, 1000.0),
        ("2.5 umol/L", None, 2.5),
        ("0.25", None, 0.25),
        ("  3  ", None, 3.0),
        ("0 nM", None, 0.0),
        ("150 ng/mL", 646.7, 150 / 646.7),
        ("31.7 ug/L", 527.6, 31.7 / 527.6),
        ("1 mg/L", 1000.0, 1.0),
        ("100 NM", None, 0.1),  # case-insensitive fallback
    ],
)
def test_parse_concentration(text: str, mw: float | None, expected: float) -> None:
    assert parse_concentration(text, molecular_weight=mw) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "mw", "message"),
    [
        ("100 zorkmids", None, "unknown concentration unit 'zorkmids'"),
        ("100 nm/s", None, "allowed: pM, nM, uM"),
        ("150 ng/mL", None, "give molecular_weight"),
        ("150 ng/mL", 0.0, "molecular_weight must be > 0"),
        ("-1 uM", None, "must be a finite number >= 0"),
        ("abc", None, "cannot read a concentration"),
        ("", None, "cannot read a concentration"),
        ("__import__('os')", None, "cannot read a concentration"),
        ("1e999 nM", None, "must be a finite number"),
    ],
)
def test_parse_concentration_errors(text: str, mw: float | None, message: str) -> None:
    with pytest.raises(ConcentrationError, match=message.replace("(", r"\(")) as info:
        parse_concentration(text, molecular_weight=mw)
    assert isinstance(info.value, ValueError)


def test_parse_concentration_rejects_non_text() -> None:
    with pytest.raises(ConcentrationError):
        parse_concentration(0.1)  # type: ignore[arg-type]


def test_package_data_is_declared() -> None:
    root = Path(__file__).resolve().parents[3]
    text = (root / "pyproject.toml").read_text()
    assert '"data/*.yaml"' in text
    assert "pydantic" in text and "pyyaml" in text


def test_docs_list_every_entry(lib: Library) -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "library.md").read_text()
    for name in [*lib.drugs, *lib.inhibitors, *lib.cell_lines]:
        assert name in docs, name
