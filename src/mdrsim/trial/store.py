"""The trial directory: a manifest and Parquet datasets, written chunk by chunk, atomically.

Layout::

    DIR/manifest.json                         what was run (spec hash, seed, chunking, versions)
    DIR/patients/chunk-000000.parquet         sampled patients of chunk 0 (same in every arm)
    DIR/endpoints/ARM/chunk-000000.parquet    one row per patient (ENDPOINT_COLUMNS)
    DIR/trajectories/ARM/chunk-000000.parquet long table, patients 0..K-1 only

Every file is written to a temporary name then ``os.replace``-d, so a file that exists is
complete. The store checks itself: after a chunk's files are written, the manifest records the
chunk (``chunks``: its patient range, row count, and each file's size, rows and SHA-256). A
chunk is done when it is recorded and every recorded file is there with its hash; a resumed
run recomputes chunks that are missing, damaged (flipped bytes, truncated, copied from another
chunk or arm) or unrecorded, and ignores stray files; reading (analysis, queries) uses only
recorded, verified files and refuses a damaged store, naming the chunk. Writes that fail (a
read-only or full disk, a path that is a file) raise :class:`~mdrsim.errors.OutputPathError`
and leave the store resumable. A resumed run refuses to mix with a different trial.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mdrsim.errors import OutputPathError, QueryError, TrialStoreError

MANIFEST = "manifest.json"
#: Manifest schema version this mdrsim reads and writes (a manifest without one is version 1).
SCHEMA_VERSION = 1
#: Manifest fields that must agree for a run to resume into a directory.
IDENTITY_KEYS = ("spec_hash", "seed", "chunk_size", "n_patients", "arms", "simulator")


def _output_error(path: Path, exc: OSError) -> OutputPathError:
    why = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EEXIST: "a file is in the way of a folder",
        errno.EISDIR: "the path is a folder",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputPathError(
        f"cannot write {path}: {why}; nothing written there counts — free space or fix the "
        "permissions and run the same command again to resume"
    )


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    try:
        _atomic_write_bytes_unchecked(path, data)
    except OSError as exc:
        raise _output_error(path, exc) from None


def _atomic_write_bytes_unchecked(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a trial store is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Write ``df`` to ``path`` via a temporary file in the same directory and os.replace;
    returns the file's record: bytes, rows and SHA-256."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    data = sink.getvalue().to_pybytes()
    _atomic_write_bytes(path, data)
    return {"bytes": len(data), "rows": len(df), "sha256": hashlib.sha256(data).hexdigest()}


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class StoreCheck:
    """What :meth:`TrialStore.check` found: verified chunks, damaged or missing chunks (with
    the reason), unrecorded chunk files on disk (strays: ignored), and the files to read."""

    good: list[int] = field(default_factory=list)
    bad: dict[int, str] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)
    files: dict[str, list[Path]] = field(default_factory=dict)  # kind -> verified files

    def notes(self) -> list[str]:
        out = [f"chunk {c}: {why}" for c, why in sorted(self.bad.items())]
        if self.strays:
            shown = ", ".join(self.strays[:5]) + (" …" if len(self.strays) > 5 else "")
            out.append(f"ignored {len(self.strays)} stray file(s) not in the manifest: {shown}")
        return out


def write_json_atomic(obj: Any, path: Path) -> None:
    _atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def n_chunks(n_patients: int, chunk_size: int) -> int:
    return -(-n_patients // chunk_size)


class TrialStore:
    """Read and write one trial directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    # -- paths ------------------------------------------------------------------------------
    def patients_path(self, chunk: int) -> Path:
        return self.root / "patients" / f"chunk-{chunk:06d}.parquet"

    def endpoints_path(self, arm: str, chunk: int) -> Path:
        return self.root / "endpoints" / arm / f"chunk-{chunk:06d}.parquet"

    def trajectories_path(self, arm: str, chunk: int) -> Path:
        return self.root / "trajectories" / arm / f"chunk-{chunk:06d}.parquet"

    # -- manifest ---------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.is_file():
            raise TrialStoreError(f"{self.root}: no {MANIFEST}; not a trial directory")
        try:
            data: dict[str, Any] = json.loads(path.read_bytes().decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrialStoreError(f"{path}: not valid JSON ({exc})") from None
        except OSError as exc:
            raise TrialStoreError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        if not isinstance(data, dict):
            raise TrialStoreError(
                f"{path}: holds a JSON {type(data).__name__}, not a trial manifest (an object)"
            )
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise TrialStoreError(
                f"{path}: schema_version {version!r} is not supported; this mdrsim reads "
                f"schema_version {SCHEMA_VERSION}"
            )
        return data

    def open(self, manifest: dict[str, Any]) -> bool:
        """Create the store, or check that it holds the same trial. True when resuming."""
        path = self.root / MANIFEST
        if path.is_file():
            old = self.read_manifest()
            diff = [k for k in IDENTITY_KEYS if _canon(old.get(k)) != _canon(manifest.get(k))]
            if diff:
                raise TrialStoreError(
                    f"{self.root} holds a different trial (differs in: {', '.join(diff)}); "
                    "use another --out directory or delete this one"
                )
            return True
        if self.root.exists() and not self.root.is_dir():
            raise OutputPathError(f"cannot write {self.root}: it is a file, not a folder")
        if self.root.exists() and any(self.root.iterdir()):
            raise TrialStoreError(
                f"{self.root} exists, is not empty and has no {MANIFEST}; refusing to write there"
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _output_error(self.root, exc) from None
        write_json_atomic(
            {**manifest, "schema_version": SCHEMA_VERSION, "complete": False, "chunks": {}}, path
        )
        return False

    def mark_complete(self, extra: dict[str, Any] | None = None) -> None:
        m = self.read_manifest()
        m.update(extra or {})
        m["complete"] = True
        write_json_atomic(m, self.root / MANIFEST)

    # -- self-check ---------------------------------------------------------------------------
    def _rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _chunk_problem(self, chunk: int, entry: Any, arms: list[str], manifest: dict[str, Any],
                       deep: bool) -> str | None:  # fmt: skip
        """Why recorded chunk ``chunk`` is not usable, or None when it is."""
        if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict):
            return "its manifest record is malformed"
        size = int(manifest.get("chunk_size", 0))
        lo = chunk * size
        hi = min(int(manifest.get("n_patients", 0)), lo + size)
        if entry.get("patients") != [lo, hi] or entry.get("rows") != hi - lo:
            return f"its record says patients {entry.get('patients')}, expected [{lo}, {hi})"
        needed = [self._rel(self.patients_path(chunk))]
        needed += [self._rel(self.endpoints_path(a, chunk)) for a in arms]
        for rel in needed:
            if rel not in entry["files"]:
                return f"{rel} is not recorded"
        for rel, rec in entry["files"].items():
            path = self.root / rel
            if not path.is_file():
                return f"{rel} is missing"
            if not isinstance(rec, dict) or path.stat().st_size != rec.get("bytes"):
                return f"{rel} has {path.stat().st_size} bytes, the manifest says {rec.get('bytes') if isinstance(rec, dict) else '?'}"  # noqa: E501
            if deep and _sha256_file(path) != rec.get("sha256"):
                return f"{rel} does not match its SHA-256 (damaged or replaced)"
        return None

    def check(self, deep: bool = True) -> StoreCheck:
        """Verify every chunk against the manifest (sizes, and hashes when ``deep``)."""
        manifest = self.read_manifest()
        arms = [str(a) for a in manifest.get("arms", [])]
        total = int(manifest.get("n_chunks", 0))
        result = StoreCheck(files={k: [] for k in ("patients", "endpoints", "trajectories")})
        chunks = manifest.get("chunks")
        if not isinstance(chunks, dict):  # a store written before the manifest had chunks
            result.good = [c for c in range(total) if self._legacy_done(c, arms)]
            result.bad = {c: "not stored" for c in range(total) if c not in result.good}
            for kind in result.files:
                result.files[kind] = sorted((self.root / kind).rglob("chunk-*.parquet"))
            return result
        recorded: set[str] = set()
        for c in range(total):
            entry = chunks.get(str(c))
            if entry is None:
                result.bad[c] = "not stored"
                continue
            why = self._chunk_problem(c, entry, arms, manifest, deep)
            if why is not None:
                result.bad[c] = why
                continue
            result.good.append(c)
            for rel in entry["files"]:
                recorded.add(rel)
                result.files[rel.split("/", 1)[0]].append(self.root / rel)
        for kind in result.files:
            result.files[kind].sort()
            for path in sorted((self.root / kind).rglob("chunk-*.parquet")):
                rel = self._rel(path)
                if rel not in recorded and not self._recorded_bad(rel, chunks, result):
                    result.strays.append(rel)
        return result

    @staticmethod
    def _recorded_bad(rel: str, chunks: dict[str, Any], result: StoreCheck) -> bool:
        for c in result.bad:
            entry = chunks.get(str(c))
            files = entry.get("files") if isinstance(entry, dict) else None
            if isinstance(files, dict) and rel in files:
                return True
        return False

    def _legacy_done(self, chunk: int, arms: Iterable[str]) -> bool:
        if not self.patients_path(chunk).is_file():
            return False
        return all(self.endpoints_path(arm, chunk).is_file() for arm in arms)

    def chunk_done(self, chunk: int, arms: Iterable[str]) -> bool:
        """Chunk ``chunk`` is recorded in the manifest and its files match their hashes."""
        manifest = self.read_manifest()
        chunks = manifest.get("chunks")
        if not isinstance(chunks, dict):
            return False
        entry = chunks.get(str(chunk))
        if entry is None:
            return False
        return self._chunk_problem(chunk, entry, list(arms), manifest, deep=True) is None

    def verified(self) -> StoreCheck:
        """:meth:`check`, refusing a store with damaged chunks (for reading)."""
        result = self.check(deep=True)
        damaged = {c: why for c, why in result.bad.items() if why != "not stored"}
        if damaged:
            lines = "; ".join(f"chunk {c}: {why}" for c, why in sorted(damaged.items())[:5])
            raise TrialStoreError(
                f"{self.root}: {len(damaged)} chunk(s) are damaged ({lines}); run the same "
                "`mdrsim trial` command with this --out to recompute them"
            )
        return result

    def write_chunk(
        self,
        chunk: int,
        patients: pd.DataFrame,
        endpoints: dict[str, pd.DataFrame],
        trajectories: dict[str, pd.DataFrame | None],
    ) -> None:
        """Write a chunk's files, then record the chunk in the manifest (the commit point:
        a chunk written but not recorded is recomputed on resume)."""
        files: dict[str, Any] = {}
        for arm, df in endpoints.items():
            path = self.endpoints_path(arm, chunk)
            files[self._rel(path)] = write_parquet_atomic(df, path)
        for arm, tr in trajectories.items():
            path = self.trajectories_path(arm, chunk)
            if tr is not None:
                files[self._rel(path)] = write_parquet_atomic(tr, path)
            else:
                path.unlink(missing_ok=True)  # a stale file from a damaged earlier run
        path = self.patients_path(chunk)
        files[self._rel(path)] = write_parquet_atomic(patients, path)
        m = self.read_manifest()
        lo = int(patients["patient"].min()) if len(patients) else 0
        recorded = m.get("chunks")
        chunks: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
        chunks[str(chunk)] = {"patients": [lo, lo + len(patients)], "rows": len(patients),
                              "files": files}  # fmt: skip
        m["chunks"] = chunks
        write_json_atomic(m, self.root / MANIFEST)

    def forget_chunks(self, chunks: Iterable[int]) -> None:
        """Drop chunks' manifest records before recomputing them."""
        m = self.read_manifest()
        recorded = m.get("chunks")
        if not isinstance(recorded, dict):
            m["chunks"] = {}
        else:
            for c in chunks:
                recorded.pop(str(c), None)
        write_json_atomic(m, self.root / MANIFEST)

    # -- reading ----------------------------------------------------------------------------
    def _files(self, kind: str) -> list[Path]:
        """The verified files of ``kind`` (strays and damaged chunks are never read)."""
        return self.verified().files.get(kind, [])

    def read(self, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read a dataset (``patients``, ``endpoints``, ``trajectories``), only ``columns``."""
        files = self._files(kind)
        if not files:
            return pd.DataFrame(columns=columns or [])
        frames = []
        for f in files:
            try:
                frames.append(pq.read_table(f, columns=columns).to_pandas())
            except (pa.ArrowException, OSError) as exc:
                raise TrialStoreError(f"{f}: cannot be read ({exc})") from None
        return pd.concat(frames, ignore_index=True)

    def endpoints(self, columns: list[str] | None = None) -> pd.DataFrame:
        df = self.read("endpoints", columns)
        sort = [c for c in ("arm", "patient") if c in df.columns]
        return df.sort_values(sort, kind="stable").reset_index(drop=True) if sort else df

    def failures(self) -> pd.DataFrame:
        """The per-patient failure table: patient, arm, reason."""
        df = self.query(
            "SELECT patient, arm, reason FROM endpoints WHERE status = 'failed' "
            "ORDER BY arm, patient"
        )
        return df

    def query(self, sql: str) -> pd.DataFrame:
        """Run one DuckDB ``SELECT`` over views ``patients``, ``endpoints``, ``trajectories``
        (and ``failures``).

        The connection is a sandbox, because the SQL may come from a user or a web form: only a
        single SELECT statement is accepted (no COPY, ATTACH, INSTALL, SET, PRAGMA …, so SQL
        cannot write a file, not even over the trial's own chunks), file access is confined to
        the trial's data folders (``enable_external_access = false`` with
        ``allowed_directories``), and the configuration is locked so the SQL cannot undo that.
        """
        import duckdb

        con = duckdb.connect(
            ":memory:",
            config={"autoload_known_extensions": False, "autoinstall_known_extensions": False},
        )
        try:
            verified = self.verified().files
            kinds = [k for k in ("patients", "endpoints", "trajectories") if verified.get(k)]
            allowed = [str((self.root / k).resolve()) + os.sep for k in kinds]
            con.execute("SET allowed_directories = ?", [allowed])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            _only_one_select(con, sql)
            for kind in kinds:
                # The verified files by name (not a glob): a stray chunk file is never read.
                names = ", ".join(
                    "'" + str(f.resolve()).replace("'", "''") + "'" for f in verified[kind]
                )
                con.execute(
                    f"CREATE VIEW {kind} AS SELECT * FROM read_parquet("
                    f"[{names}], hive_partitioning=false, union_by_name=true)"
                )
            if "endpoints" in kinds:
                con.execute(
                    "CREATE VIEW failures AS SELECT patient, arm, reason FROM endpoints "
                    "WHERE status = 'failed'"
                )
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {exc}") from None
        finally:
            con.close()


def _only_one_select(con: Any, sql: str) -> None:
    """Refuse anything but a single SELECT (parsed by DuckDB itself, not by pattern)."""
    import duckdb

    if not sql.strip():
        raise QueryError("query: the SQL is empty; give one SELECT statement")
    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise QueryError(
            f"query: give exactly one SELECT statement (got {len(statements)} statements)"
        )
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise QueryError(
            f"query: only a SELECT statement is allowed, not {kind.name}: queries read the "
            "trial's tables and never write, attach or configure anything"
        )


def query(root: str | Path, sql: str) -> pd.DataFrame:
    """DuckDB SQL over a trial directory (views: patients, endpoints, trajectories, failures)."""
    store = TrialStore(root)
    store.read_manifest()
    return store.query(sql)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
