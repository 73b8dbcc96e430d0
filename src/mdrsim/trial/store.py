"""The trial directory: a manifest and Parquet datasets, written chunk by chunk, atomically.

Layout::

    DIR/manifest.json                         what was run (spec hash, seed, chunking, versions)
    DIR/patients/chunk-000000.parquet         sampled patients of chunk 0 (same in every arm)
    DIR/endpoints/ARM/chunk-000000.parquet    one row per patient (ENDPOINT_COLUMNS)
    DIR/trajectories/ARM/chunk-000000.parquet long table, patients 0..K-1 only

Every file is written to a temporary name then ``os.replace``-d, so a file that exists is
complete. A chunk is done when all its files exist; a resumed run skips done chunks and refuses
to mix with a different trial (manifest mismatch).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mdrsim.errors import QueryError, TrialStoreError

MANIFEST = "manifest.json"
#: Manifest schema version this mdrsim reads and writes (a manifest without one is version 1).
SCHEMA_VERSION = 1
#: Manifest fields that must agree for a run to resume into a directory.
IDENTITY_KEYS = ("spec_hash", "seed", "chunk_size", "n_patients", "arms", "simulator")


def _atomic_write_bytes(path: Path, data: bytes) -> None:
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


def write_parquet_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` via a temporary file in the same directory and os.replace."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    _atomic_write_bytes(path, sink.getvalue().to_pybytes())


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
            data: dict[str, Any] = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise TrialStoreError(f"{path}: not valid JSON ({exc})") from None
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
        if self.root.exists() and any(self.root.iterdir()):
            raise TrialStoreError(
                f"{self.root} exists, is not empty and has no {MANIFEST}; refusing to write there"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic({**manifest, "schema_version": SCHEMA_VERSION, "complete": False}, path)
        return False

    def mark_complete(self, extra: dict[str, Any] | None = None) -> None:
        m = self.read_manifest()
        m.update(extra or {})
        m["complete"] = True
        write_json_atomic(m, self.root / MANIFEST)

    def chunk_done(self, chunk: int, arms: Iterable[str]) -> bool:
        """The patients file is written last (after endpoints and trajectories), so a chunk
        is complete when it and every arm's endpoints file exist."""
        if not self.patients_path(chunk).is_file():
            return False
        return all(self.endpoints_path(arm, chunk).is_file() for arm in arms)

    def write_chunk(
        self,
        chunk: int,
        patients: pd.DataFrame,
        endpoints: dict[str, pd.DataFrame],
        trajectories: dict[str, pd.DataFrame | None],
    ) -> None:
        # Patients last: with all files atomic, a chunk whose patients file exists and whose
        # arm files exist is complete; partial chunks are rewritten on resume (same content).
        for arm, df in endpoints.items():
            write_parquet_atomic(df, self.endpoints_path(arm, chunk))
        for arm, tr in trajectories.items():
            if tr is not None:
                write_parquet_atomic(tr, self.trajectories_path(arm, chunk))
        write_parquet_atomic(patients, self.patients_path(chunk))

    # -- reading ----------------------------------------------------------------------------
    def _files(self, kind: str) -> list[Path]:
        return sorted((self.root / kind).rglob("chunk-*.parquet"))

    def read(self, kind: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read a dataset (``patients``, ``endpoints``, ``trajectories``), only ``columns``."""
        files = self._files(kind)
        if not files:
            return pd.DataFrame(columns=columns or [])
        frames = [pq.read_table(f, columns=columns).to_pandas() for f in files]
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
            kinds = [k for k in ("patients", "endpoints", "trajectories") if self._files(k)]
            allowed = [str((self.root / k).resolve()) + os.sep for k in kinds]
            con.execute("SET allowed_directories = ?", [allowed])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            _only_one_select(con, sql)
            for kind in kinds:
                folder = str((self.root / kind).resolve()).replace("'", "''")
                con.execute(
                    f"CREATE VIEW {kind} AS SELECT * FROM read_parquet("
                    f"'{folder}/**/chunk-*.parquet', hive_partitioning=false, union_by_name=true)"
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
