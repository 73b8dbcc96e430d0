"""Curated, schema-validated library of chemotherapy drugs, P-gp inhibitors and cell lines.

See ``docs/library.md`` for what the library holds, which values are measured and which are
assumed, and the calibration / validation split of the fold-resistance data.
"""

from __future__ import annotations

from mdrsim.data.library import (
    DRUG_CLASSES,
    CellLine,
    ConcentrationError,
    Drug,
    Inhibitor,
    Library,
    LibraryError,
    Quantity,
    UnknownNameError,
    clear_library_cache,
    load_library,
    parse_concentration,
)

__all__ = [
    "DRUG_CLASSES",
    "CellLine",
    "ConcentrationError",
    "Drug",
    "Inhibitor",
    "Library",
    "LibraryError",
    "Quantity",
    "UnknownNameError",
    "clear_library_cache",
    "load_library",
    "parse_concentration",
]
