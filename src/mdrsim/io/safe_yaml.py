"""YAML input with limits: the one reader of user YAML that cannot be made to hang or blow up.

``yaml.safe_load`` already refuses tags that build Python objects (``!!python/…``), but it
accepts three things a hostile or careless file can use:

- aliases (``*a``): a 2 kB file of nested aliases expands to billions of nodes ("billion
  laughs") once something walks it — validation, hashing, printing;
- nesting thousands of levels deep, which exhausts the parser's recursion;
- duplicate keys, of which the last silently wins.

:func:`load_yaml` refuses each with :class:`~mdrsim.errors.InputFileError` naming the line, and
also refuses files that are not UTF-8 or larger than :data:`MAX_BYTES`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mdrsim.errors import InputFileError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "load_yaml", "load_yaml_file", "read_text_file"]

#: Largest YAML input read (a trial or scenario file is a few kB).
MAX_BYTES = 1_000_000
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 64


class _LimitedLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise InputFileError(
                f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                "allowed; write the value out"
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()
                raise InputFileError(
                    f"line {event.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key; SafeLoader reports it below
                continue
            if duplicate:
                raise InputFileError(
                    f"line {key_node.start_mark.line + 1}: key {key!r} is given twice"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, source: str = "YAML input") -> Any:
    """Parse ``text`` with the limits above; errors name ``source``."""
    if len(text) > MAX_BYTES:
        raise InputFileError(f"{source}: larger than {MAX_BYTES:,} characters")
    loader: _LimitedLoader | None = None
    try:
        loader = _LimitedLoader(text)  # reads the first characters: may raise a ReaderError
        return loader.get_single_data()
    except InputFileError as exc:
        raise InputFileError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputFileError(f"{source}: not valid YAML: {exc}") from None
    except RecursionError:
        raise InputFileError(f"{source}: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_text_file(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of ``path`` (at most MAX_BYTES), or InputFileError saying why not."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputFileError(f"{what} {p}: {size:,} bytes; at most {MAX_BYTES:,} are read")
        data = p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{what} {p}: cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{what} {p}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})"
        ) from None


def load_yaml_file(path: str | Path, what: str = "file") -> Any:
    """:func:`read_text_file` then :func:`load_yaml`."""
    return load_yaml(read_text_file(path, what), f"{what} {path}")
