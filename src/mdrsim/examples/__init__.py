"""The examples shipped with mdrsim: scenario files, trial files and Antimony models.

They live inside the package (so a wheel carries them and ``load_example`` works from any
installation); the repository's top-level ``examples/`` is a link to this folder, so the README's
commands (``mdrsim run examples/doxorubicin.yaml``) work from a checkout.

    >>> from mdrsim.examples import list_examples, load_example, example_path
    >>> scenario = load_example("doxorubicin")          # a validated Scenario
    >>> model = load_example("tumour_mdr1")             # a Model (Antimony)
    >>> example_path("trial_tariquidar")                 # the file, for the CLI or a copy
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mdrsim.errors import ExampleNotFoundError, did_you_mean

if TYPE_CHECKING:
    from mdrsim.model.ir import Model

# Why suffixes and not a registry: a file added to this folder is an example, with nothing else
# to keep in step.
_SUFFIXES = (".yaml", ".ant")


def _folder() -> Path:
    # importlib.resources: the same code finds the folder in a checkout, an editable install and
    # an installed wheel.
    return Path(str(resources.files(__name__)))


def list_examples() -> list[str]:
    """Names of the shipped examples (file names without their suffix), sorted."""
    return sorted(p.stem for p in _folder().iterdir() if p.suffix in _SUFFIXES)


def example_path(name: str) -> Path:
    """The path of the shipped example ``name`` (with or without its suffix)."""
    folder = _folder()
    stem = Path(name).stem if Path(name).suffix in _SUFFIXES else name
    for suffix in _SUFFIXES:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    raise ExampleNotFoundError(
        f"example {name!r} does not exist{did_you_mean(stem, list_examples())}; "
        f"shipped examples: {', '.join(list_examples())}"
    )


def load_example(name: str) -> Any:
    """Load a shipped example by name.

    Returns a :class:`~mdrsim.model.ir.Model` for an Antimony model, a validated trial spec
    (``TrialSpec``) for a trial file (a YAML document with ``arms``), a validated
    ``CalibrationSpec`` for a population-calibration file (with ``trial`` and ``free``; run it
    with ``mdrsim trial-fit``), and a validated ``Scenario`` for a one-patient scenario file.
    The trial's model path is relative to ``example_path(name).parent``.
    """
    path = example_path(name)
    if path.suffix == ".ant":
        from mdrsim.io import load_model

        model: Model = load_model(path)
        return model
    document = yaml.safe_load(path.read_text())
    if isinstance(document, dict) and "arms" in document:
        from mdrsim.trial.spec import load_trial

        spec, _folder_of_model = load_trial(path)
        return spec
    if isinstance(document, dict) and "free" in document and "trial" in document:
        from mdrsim.fit.vpop import load_calibration

        calibration, _folder = load_calibration(path)
        return calibration
    from mdrsim.patient.scenario import load_scenario

    return load_scenario(path)
