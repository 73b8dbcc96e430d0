"""The loaded library: the :class:`Library` object, its look-ups and cross-checks, and loading.

The library is three YAML files shipped with the package (``drugs.yaml``, ``inhibitors.yaml``,
``cell_lines.yaml``), validated against the schema in :mod:`mdrsim.data.schema` (what each
entry holds, its units and sources). Files are read with a YAML safe loader only (libyaml's
when installed), and every
error names the file, the entry and the field path, e.g.
``drugs.yaml: doxorubicin.pgp_km.value: must be > 0``.

Pass the :class:`Library` you use explicitly to the code that needs it; :func:`load_library` is
for the boundary (the CLI, a script, the default of a public entry point).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from mdrsim.data.schema import (
    CellLine,
    Drug,
    ExpressionModifier,
    FoldUse,
    Inhibitor,
    Quantity,
    all_field_names,
    substrate_label,
)
from mdrsim.errors import LibraryError, SchemaFieldError, UnknownNameError, did_you_mean

__all__ = [
    "FILES",
    "Library",
    "clear_library_cache",
    "load_library",
]

FILES = {"drugs": "drugs.yaml", "inhibitors": "inhibitors.yaml", "cell_lines": "cell_lines.yaml"}


class Library(BaseModel):
    """The loaded, cross-checked library. Look things up with :meth:`drug` and friends."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    drugs: dict[str, Drug]
    inhibitors: dict[str, Inhibitor]
    expression_inhibitors: list[ExpressionModifier] = []
    expression_inducers: list[ExpressionModifier] = []
    cell_lines: dict[str, CellLine]
    location: str = ""

    @model_validator(mode="after")
    def _cross_checked(self) -> Library:
        problems = self.cross_check()
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # ---- lookups

    def drug(self, name: str) -> Drug:
        """The drug by INN key (case-insensitive) or alias."""
        found = self._find(self.drugs, name, lambda d: d.aliases)
        if found is None:
            raise UnknownNameError("drug", name, list(self.drugs))
        return found

    def inhibitor(self, name: str) -> Inhibitor:
        """The inhibitor by name (case-insensitive) or synonym (e.g. 'PSC 833')."""
        found = self._find(self.inhibitors, name, lambda i: i.synonyms)
        if found is None:
            raise UnknownNameError("inhibitor", name, list(self.inhibitors))
        return found

    def cell_line(self, line_id: str) -> CellLine:
        """The cell line by id as used in the literature (case-insensitive) or alias."""
        found = self._find(self.cell_lines, line_id, lambda c: c.aliases)
        if found is None:
            raise UnknownNameError("cell line", line_id, list(self.cell_lines))
        return found

    @staticmethod
    def _find(table: Mapping[str, Any], name: str, aliases: Callable[[Any], list[str]]) -> Any:
        if name in table:
            return table[name]
        wanted = name.strip().lower()
        for key, entry in table.items():
            if key.lower() == wanted or wanted in (a.lower() for a in aliases(entry)):
                return entry
        return None

    def ddi(self, inhibitor: str, drug: str) -> Quantity | None:
        """Measured fractional change in ``drug`` clearance with ``inhibitor`` (None: no data)."""
        return self.inhibitor(inhibitor).ddi.get(self.drug(drug).name)

    # ---- cross-file checks

    def cross_check(self) -> list[str]:
        """Problems that involve more than one entry (unknown references, role conflicts)."""
        problems: list[str] = []
        drugs, lines = self.drugs, self.cell_lines

        def unknown(kind: str, name: str, known: Mapping[str, Any]) -> str:
            return f"unknown {kind} '{name}'{did_you_mean(name, list(known))}"

        for lid, line in lines.items():
            where = f"cell_lines.yaml: {lid}"
            if line.parental is not None:
                parent = lines.get(line.parental)
                if parent is None:
                    problems.append(
                        f"{where}.parental: {unknown('cell line', line.parental, lines)}"
                    )
                elif not parent.is_parental:
                    problems.append(
                        f"{where}.parental: '{line.parental}' is itself a resistant line"
                    )
            for drug in line.fold_resistance:
                if drug not in drugs:
                    problems.append(
                        f"{where}.fold_resistance.{drug}: {unknown('drug', drug, drugs)}"
                    )
            for drug in line.accumulation_deficit:
                if drug not in drugs:
                    problems.append(
                        f"{where}.accumulation_deficit.{drug}: {unknown('drug', drug, drugs)}"
                    )
            for inh, per_drug in line.reversal_ec50.items():
                if inh not in self.inhibitors:
                    problems.append(
                        f"{where}.reversal_ec50.{inh}: {unknown('inhibitor', inh, self.inhibitors)}"
                    )
                for drug in per_drug:
                    if drug not in drugs:
                        problems.append(
                            f"{where}.reversal_ec50.{inh}.{drug}: {unknown('drug', drug, drugs)}"
                        )
            cal = line.calibration_drug
            if cal is not None and cal in drugs and drugs[cal].pgp_efficiency.value <= 0:
                problems.append(
                    f"{where}.calibration_drug: '{cal}' has pgp_efficiency 0 and cannot calibrate"
                )
            for drug, fold in line.fold_resistance.items():
                if (
                    fold.use in ("validation", "efficiency")
                    and drug in drugs
                    and not drugs[drug].is_substrate
                ):
                    problems.append(
                        f"{where}.fold_resistance.{drug}.use: '{fold.use}' needs a P-gp "
                        "substrate; use 'control' for a non-substrate"
                    )

        referenced: set[tuple[str, str]] = set()
        for name, entry in drugs.items():
            for ref in entry.pgp_efficiency.derived_from or []:
                where = f"drugs.yaml: {name}.pgp_efficiency.derived_from"
                lid, _, dname = ref.partition(":")
                ref_line = lines.get(lid)
                ref_fold = None if ref_line is None else ref_line.fold_resistance.get(dname)
                if ref_fold is None:
                    problems.append(f"{where}: '{ref}' is not a fold-resistance entry (LINE:drug)")
                elif ref_fold.use not in ("calibration", "efficiency"):
                    problems.append(
                        f"{where}: '{ref}' has use '{ref_fold.use}'; an entry used to set an "
                        "efficiency must have use 'efficiency' (or 'calibration')"
                    )
                else:
                    referenced.add((lid, dname))
        for lid, line in lines.items():
            for drug, fold in line.fold_resistance.items():
                if fold.use == "efficiency" and (lid, drug) not in referenced:
                    problems.append(
                        f"cell_lines.yaml: {lid}.fold_resistance.{drug}.use: 'efficiency' but no "
                        "drug's pgp_efficiency.derived_from lists it"
                    )

        for iname, inhibitor in self.inhibitors.items():
            for dname in inhibitor.ddi:
                if dname not in drugs:
                    problems.append(
                        f"inhibitors.yaml: {iname}.ddi.{dname}: {unknown('drug', dname, drugs)}"
                    )
        return problems

    # ---- calibration / validation bookkeeping

    def fold_pairs(self, use: FoldUse | None = None) -> list[dict[str, Any]]:
        """Fold-resistance entries as rows, optionally only those with a given ``use``."""
        rows = []
        for lid, line in self.cell_lines.items():
            for drug, fold in line.fold_resistance.items():
                if use is not None and fold.use != use:
                    continue
                rows.append(
                    {
                        "line": lid,
                        "parental": line.parental,
                        "drug": drug,
                        "fold": fold.value,
                        "range": fold.range,
                        "use": fold.use,
                        "pgp_line": line.pgp_mechanism,
                        "substrate": substrate_label(self.drugs[drug].pgp_substrate)
                        if drug in self.drugs
                        else None,
                        "exposure_h": fold.exposure_h,
                        "source": fold.source,
                        "verify": fold.verify,
                        "note": fold.note,
                    }
                )
        return rows

    def used_for_calibration(self) -> set[tuple[str, str]]:
        """(line, drug) pairs that set a density or an efficiency: never validation data."""
        used = {(r["line"], r["drug"]) for r in self.fold_pairs("calibration")}
        used |= {(r["line"], r["drug"]) for r in self.fold_pairs("efficiency")}
        for drug in self.drugs.values():
            for ref in drug.pgp_efficiency.derived_from or []:
                lid, _, dname = ref.partition(":")
                used.add((lid, dname))
        return used

    def validation_pairs(self) -> list[dict[str, Any]]:
        """P-gp line × substrate folds that were used for nothing (out-of-sample tests)."""
        return self.fold_pairs("validation")

    # ---- what the whole-patient model needs


# ------------------------------------------------------------------------------------ loading

_SECTIONS: dict[str, dict[str, Any]] = {
    "drugs.yaml": {"drugs": Drug},
    "inhibitors.yaml": {
        "inhibitors": Inhibitor,
        "expression_inhibitors": ExpressionModifier,
        "expression_inducers": ExpressionModifier,
    },
    "cell_lines.yaml": {"cell_lines": CellLine},
}
_KEY_FIELD = {Drug: "name", Inhibitor: "name", CellLine: "id"}


def _clean_loc(loc: tuple[int | str, ...]) -> list[str]:
    out = []
    for part in loc:
        text = str(part)
        # Union members show up as tags such as 'bool' or "literal['weak']": not field names.
        if "[" in text or text in ("bool", "int", "float", "str"):
            continue
        out.append(text)
    return out


def _format(file: str, entry: str, err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        loc = _clean_loc(e["loc"])
        exc = (e.get("ctx") or {}).get("error")
        if isinstance(exc, SchemaFieldError):
            if exc.sub:
                loc.append(exc.sub)
            msg = exc.message
        else:
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden" and loc:
                msg += did_you_mean(loc[-1], all_field_names())
            elif e["type"] == "missing":
                msg = "required field is missing"
        lines.append(f"{file}: {'.'.join([entry, *loc])}: {msg}")
    return lines


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(location: Traversable | Path, file: str) -> dict[str, Any]:
    res = location / file
    if not res.is_file():
        raise LibraryError([f"{file}: not found in {location}"])
    try:
        # libyaml's safe loader when present: the same documents, ~10x faster (1.2 s of
        # every command's start-up with the pure-Python one; issue 13).
        data = yaml.load(res.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise LibraryError([f"{file}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise LibraryError([f"{file}: the top level must be a mapping"])
    return data


def _build(location: Traversable | Path) -> Library:
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for file, sections in _SECTIONS.items():
        data = _read(location, file)
        for key in data:
            if key != "_meta" and key not in sections:
                allowed = ", ".join(["_meta", *sections])
                problems.append(
                    f"{file}: {key}: unknown top-level section{did_you_mean(str(key), sections)}"
                    f"; allowed: {allowed}"
                )
        for section, model in sections.items():
            raw = data.get(section)
            if raw is None:
                raw = {} if model in _KEY_FIELD else []
            if model in _KEY_FIELD:
                if not isinstance(raw, dict):
                    problems.append(f"{file}: {section}: must be a mapping of name -> entry")
                    continue
                out: dict[str, Any] = {}
                for name, entry in raw.items():
                    name = str(name)
                    if not isinstance(entry, dict):
                        problems.append(f"{file}: {name}: must be a mapping of fields")
                        continue
                    key_field = _KEY_FIELD[model]
                    if key_field in entry:
                        problems.append(f"{file}: {name}.{key_field}: set from the entry's key")
                        continue
                    try:
                        out[name] = model.model_validate({key_field: name, **entry})
                    except ValidationError as exc:
                        problems.extend(_format(file, name, exc))
                parsed[section] = out
            else:
                if not isinstance(raw, list):
                    problems.append(f"{file}: {section}: must be a list")
                    continue
                items = []
                for i, entry in enumerate(raw):
                    label = f"{section}[{i}]"
                    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                        label = f"{section}.{entry['name']}"
                    try:
                        items.append(model.model_validate(entry))
                    except ValidationError as exc:
                        problems.extend(_format(file, label, exc))
                parsed[section] = items
    if problems:
        raise LibraryError(problems)
    try:
        return Library.model_validate({**parsed, "location": str(location)})
    except ValidationError as exc:
        cross = []
        for e in exc.errors():
            msg = e["msg"].removeprefix("Value error, ")
            cross.extend(msg.splitlines())
        raise LibraryError(cross) from None


_CACHE: dict[tuple[str, tuple[float, ...]], Library] = {}


def clear_library_cache() -> None:
    """Forget loaded libraries (the next :func:`load_library` reads the files again).

    This is the only cache that holds a library. The calibrations memoised in
    :mod:`mdrsim.experiments` are keyed by the numbers they use, not by a drug or line name,
    so a changed library gets its own results without clearing anything there.
    """
    _CACHE.clear()


def load_library(path: str | Path | None = None) -> Library:
    """Load and validate the library (cached).

    ``path`` is a directory holding ``drugs.yaml``, ``inhibitors.yaml`` and ``cell_lines.yaml``;
    by default the copy shipped in the package. A user directory is re-read when a file changes.
    Raises :class:`LibraryError` listing every problem (file, entry and field path).
    """
    if path is None:
        key: tuple[str, tuple[float, ...]] = ("<package>", ())
        if key not in _CACHE:
            _CACHE[key] = _build(resources.files("mdrsim.data"))
        return _CACHE[key]
    directory = Path(path).expanduser().resolve()
    if not directory.is_dir():
        raise LibraryError([f"{directory}: not a directory holding {', '.join(FILES.values())}"])
    stamps = tuple(
        (directory / f).stat().st_mtime_ns if (directory / f).is_file() else -1.0
        for f in FILES.values()
    )
    key = (str(directory), tuple(float(s) for s in stamps))
    if key not in _CACHE:
        _CACHE[key] = _build(directory)
    return _CACHE[key]
