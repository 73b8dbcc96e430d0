"""Helpers shared by the CLI modules (the core never imports this)."""

from __future__ import annotations

from typing import Any


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars and arrays (and anything else as its string)."""
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
