"""SBML import and export through python-libsbml.

This module is the public face; the work is split into modules with one job each:

- :mod:`mdrsim.io.sbml_read`: the importer (:func:`read_sbml`, :func:`read_sbml_string`),
- :mod:`mdrsim.io.sbml_write`: the exporter (:func:`write_sbml`), which must round-trip
  exactly: ``read_sbml_string(write_sbml(m)) == m``,
- :mod:`mdrsim.io.sbml_math`: libsbml ASTNode <-> sympy conversion; math never goes through
  text, and floats keep all their digits,
- :mod:`mdrsim.io.sbml_meta`: the mdrsim-only metadata annotation in the namespace
  :data:`MDRSIM_NS` (units as written, sources, descriptions, bounds, ``non_negative``,
  observables, exact values), which other tools ignore.
"""

from __future__ import annotations

from mdrsim.io.sbml_meta import MDRSIM_NS
from mdrsim.io.sbml_read import read_sbml, read_sbml_string
from mdrsim.io.sbml_write import write_sbml

__all__ = ["MDRSIM_NS", "read_sbml", "read_sbml_string", "write_sbml"]
