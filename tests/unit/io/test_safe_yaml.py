"""The YAML reader with limits: aliases, depth, duplicate keys, size and encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdrsim.errors import InputFileError
from mdrsim.io.safe_yaml import MAX_DEPTH, load_yaml, load_yaml_file


def test_plain_documents_read_as_safe_load_would() -> None:
    assert load_yaml("a: 1\nb: [x, {c: 2.5}]\n") == {"a": 1, "b": ["x", {"c": 2.5}]}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a: &x [1, 2]\nb: *x\n", r"line 2: YAML aliases \(\*x\)"),
        ("a: 1\nb: 2\na: 3\n", r"line 3: key 'a' is given twice"),
        ("a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), "nested deeper than"),
        ("!!python/object/apply:os.system ['true']", "not valid YAML"),
        ("a: [unclosed", "not valid YAML"),
        ("\x1f", "not valid YAML"),
    ],
)
def test_refused_with_the_line(text: str, match: str) -> None:
    with pytest.raises(InputFileError, match=match):
        load_yaml(text, "t.yaml")


def test_files_must_be_utf8_and_not_huge(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(InputFileError, match=r"not UTF-8 text \(byte 0xff on line 2\)"):
        load_yaml_file(p, "trial file")
    p.write_text("a: 1\n" * 300_000)
    with pytest.raises(InputFileError, match="at most"):
        load_yaml_file(p)
    with pytest.raises(InputFileError, match="cannot be read"):
        load_yaml_file(tmp_path / "missing.yaml")
