"""Regenerate the provenance paragraph of docs/library.md from the library data.

Usage: ``python docs/scripts/library_provenance.py [--check]``. The paragraph sits between the
``<!-- provenance:begin`` and ``<!-- provenance:end -->`` markers; ``--check`` exits 1 when the page
is stale instead of rewriting it (tests/unit/data/test_provenance.py runs the same comparison).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mdrsim.data import load_library, tables

DOC = Path(__file__).resolve().parents[1] / "library.md"
BLOCK = re.compile(r"(<!-- provenance:begin[^\n]*-->\n)(.*?)(\n<!-- provenance:end -->)", re.S)


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    match = BLOCK.search(text)
    if match is None:
        print(f"{DOC}: no provenance markers", file=sys.stderr)
        return 2
    fresh = tables.provenance_markdown(load_library())
    if match.group(2) == fresh:
        print("docs/library.md provenance counts are up to date")
        return 0
    if "--check" in argv:
        print("docs/library.md provenance counts are stale; rerun without --check", file=sys.stderr)
        return 1
    DOC.write_text(text[: match.start(2)] + fresh + text[match.end(2) :], encoding="utf-8")
    print("docs/library.md provenance counts rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
