"""schema_version of trial files and trial-store manifests: version 1 is read (and is the
default); any other is refused naming the field, the value and the supported version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mdrsim.trial import TrialSpecError, parse_trial
from mdrsim.trial.errors import TrialStoreError
from mdrsim.trial.store import MANIFEST, TrialStore


def test_trial_schema_version_1_is_optional_and_leaves_the_hash_alone(
    trial_doc: dict[str, Any],
) -> None:
    plain = parse_trial(trial_doc)
    stated = parse_trial({**trial_doc, "schema_version": 1})
    assert plain.schema_version == stated.schema_version == 1
    assert plain.spec_hash() == stated.spec_hash()


@pytest.mark.parametrize("version", [2, 0, "1", True])
def test_another_trial_schema_version_is_refused(trial_doc: dict[str, Any], version) -> None:
    with pytest.raises(TrialSpecError) as info:
        parse_trial({**trial_doc, "schema_version": version})
    assert str(info.value) == (
        f"schema_version: got {version!r}; this mdrsim reads schema_version 1"
    )


def test_store_manifest_records_its_version_and_refuses_another(tmp_path: Path) -> None:
    store = TrialStore(tmp_path / "run")
    store.open({"spec_hash": "x", "seed": 1})
    manifest = store.read_manifest()
    assert manifest["schema_version"] == 1
    path = tmp_path / "run" / MANIFEST
    path.write_text(json.dumps({**manifest, "schema_version": 2}))
    with pytest.raises(
        TrialStoreError, match=r"schema_version 2 is not supported.*reads schema_version 1"
    ):
        store.read_manifest()
    # A manifest written before versions existed reads as version 1.
    del manifest["schema_version"]
    path.write_text(json.dumps(manifest))
    assert store.read_manifest()["spec_hash"] == "x"
