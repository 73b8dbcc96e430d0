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


_NUMBA_SOURCE = """from numba import njit


@njit(cache=True)
def f(x):
    return x + 1.0
"""


class _Plant:
    """Unpickling this writes a marker file: what a planted numba cache file could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.write_text, (self.marker, "pwned"))


def test_numba_cache_files_are_sealed_and_a_planted_one_is_never_unpickled(tmp_path: Path):
    # numba keeps the machine code of a generated module in __pycache__/<module>.<fn>-….nbi
    # (index) and ….nbc (data): pickles, which run code when loaded. Each is sealed when numba
    # writes it; an unsealed, damaged or planted one is a miss (numba compiles again).
    import pickle

    def source() -> str:
        return _NUMBA_SOURCE

    def fresh(tag: str) -> object:
        # A new cache object imports the module afresh: its function loads numba's files.
        module, _ = ModuleCache("kind", "gen_", module_prefix=f"test_numba_{tag}_").get(
            "n1", source, tmp_path
        )
        return module.f

    f = fresh("a")
    assert f(1.0) == 2.0  # type: ignore[operator]
    pycache = tmp_path / "kind" / "__pycache__"
    index = next(pycache.glob("gen_n1.f-*.nbi"))
    data = next(pycache.glob("gen_n1.f-*.nbc"))
    for p in (index, data):
        assert (p.parent / (p.name + ".sha256")).is_file(), p
    # A sealed cache is used: the next import loads the machine code, no new compile.
    f = fresh("b")
    assert f(1.0) == 2.0  # type: ignore[operator]
    assert f.stats.cache_hits, f.stats  # type: ignore[attr-defined]

    marker = tmp_path / "pwned"
    for target in (index, data):
        target.write_bytes(pickle.dumps(_Plant(marker)))  # planted, seal no longer matches
        f = fresh(f"planted_{target.suffix[1:]}")
        assert f(1.0) == 2.0  # type: ignore[operator]
        assert not marker.exists(), f"{target.name} was unpickled"
        assert f.stats.cache_misses, f.stats  # type: ignore[attr-defined]
        # numba wrote a fresh file, sealed again (the damage is repaired, not repeated)
        assert target.read_bytes() != pickle.dumps(_Plant(marker))
        assert (target.parent / (target.name + ".sha256")).is_file()
    # A damaged (truncated) index is a miss too, not a crash.
    index.write_bytes(index.read_bytes()[:7])
    assert fresh("damaged")(1.0) == 2.0  # type: ignore[operator]
    # A file that has no seal at all (written by something else) is not trusted.
    (index.parent / (index.name + ".sha256")).unlink()
    index.write_bytes(pickle.dumps(_Plant(marker)))
    assert fresh("unsealed")(1.0) == 2.0  # type: ignore[operator]
    assert not marker.exists()
