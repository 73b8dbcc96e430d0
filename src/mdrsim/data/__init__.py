"""Curated, schema-validated library of chemotherapy drugs, P-gp inhibitors and cell lines.

- :mod:`mdrsim.data.schema` — the pydantic schema of the YAML entries (:class:`Drug`, …);
- :mod:`mdrsim.data.library` — the :class:`Library` object, its queries, and loading;
- :mod:`mdrsim.data.units` — unit conversion and concentration parsing;
- :mod:`mdrsim.data.tables` — plain-dict rows of the library for tables and JSON.

See ``docs/library.md`` for what the library holds, which values are measured and which are
assumed, and the calibration / validation split of the fold-resistance data.
"""

from __future__ import annotations

from mdrsim.data.library import Library, clear_library_cache, load_library
from mdrsim.data.schema import DRUG_CLASSES, CellLine, Drug, Inhibitor, Quantity, quantities
from mdrsim.data.units import convert, parse_concentration
from mdrsim.errors import ConcentrationError, LibraryError, UnitError, UnknownNameError

__all__ = [
    "DRUG_CLASSES",
    "CellLine",
    "ConcentrationError",
    "Drug",
    "Inhibitor",
    "Library",
    "LibraryError",
    "Quantity",
    "UnitError",
    "UnknownNameError",
    "clear_library_cache",
    "convert",
    "load_library",
    "parse_concentration",
    "quantities",
]
