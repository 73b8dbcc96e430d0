"""The shared on-disk cache of generated modules (mdrsim.engine.cache)."""

from __future__ import annotations

from pathlib import Path

from mdrsim.engine.cache import ModuleCache, write_atomic


def test_write_atomic_leaves_only_the_file(tmp_path: Path):
    path = tmp_path / "sub" / "m.py"
    write_atomic(path, "X = 1\n")
    assert path.read_text() == "X = 1\n"
    assert [p.name for p in path.parent.iterdir()] == ["m.py"]  # no temporary left behind


def test_module_cache_generates_once_and_reuses_the_file(tmp_path: Path):
    calls: list[str] = []

    def source() -> str:
        calls.append("generated")
        return "VALUE = 42\n"

    first = ModuleCache("kind", "gen_", module_prefix="test_cache_a_")
    module, path = first.get("k1", source, tmp_path)
    assert module.VALUE == 42 and path == tmp_path / "kind" / "gen_k1.py"
    assert first.get("k1", source, tmp_path)[0] is module  # in memory
    # A new cache (as in a new process) finds the file and does not regenerate it.
    second = ModuleCache("kind", "gen_", module_prefix="test_cache_b_")
    again, _ = second.get("k1", source, tmp_path)
    assert again.VALUE == 42
    assert calls == ["generated"]


def test_a_planted_or_damaged_module_is_a_cache_miss_never_imported(tmp_path: Path):
    # Issue 16: one line of Python written into the model cache ran at the next simulate, and
    # one damaged file broke every run. A module whose seal does not match is regenerated.
    def source() -> str:
        return "VALUE = 42\n"

    ModuleCache("kind", "gen_", module_prefix="test_cache_c_").get("k2", source, tmp_path)
    path = tmp_path / "kind" / "gen_k2.py"
    marker = tmp_path / "pwned"
    path.write_text(f"open({str(marker)!r}, 'w').write('x')\nVALUE = 0\n")  # planted
    module, _ = ModuleCache("kind", "gen_", module_prefix="test_cache_d_").get(
        "k2", source, tmp_path
    )
    assert module.VALUE == 42 and not marker.exists()
    path.write_bytes(b"VALUE = (\x00\xff")  # damaged: not even valid text
    module, _ = ModuleCache("kind", "gen_", module_prefix="test_cache_e_").get(
        "k2", source, tmp_path
    )
    assert module.VALUE == 42
    # a module with no seal at all (written by something else) is not trusted either
    (path.parent / (path.name + ".sha256")).unlink()
    path.write_text("VALUE = -1\n")
    module, _ = ModuleCache("kind", "gen_", module_prefix="test_cache_f_").get(
        "k2", source, tmp_path
    )
    assert module.VALUE == 42
