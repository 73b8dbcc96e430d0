"""Compile a model once (generated source + numba), cache it on disk, run it many times."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from mdrsim.engine import pending
from mdrsim.engine.cache import ModuleCache, cache_dir
from mdrsim.engine.codegen import FlatModel, flatten, generate_source, source_key
from mdrsim.model.ir import Model

#: Generated ODE modules: ``<cache>/models/model_<key>.py``.
_MODULES = ModuleCache("models", "model_")


@dataclass
class CompiledModel:
    """A model turned into compiled functions; parameters and initial states stay inputs."""

    model: Model
    flat: FlatModel
    module: ModuleType
    key: str
    source_path: Path
    compile_seconds: float

    @property
    def state_names(self) -> list[str]:
        return self.flat.state_names

    @property
    def parameter_names(self) -> list[str]:
        return self.flat.parameter_names

    @property
    def output_names(self) -> list[str]:
        return self.flat.output_names

    def default_parameters(self) -> np.ndarray:
        return np.array([self.model.value_of(n) for n in self.parameter_names], dtype=np.float64)

    def default_initial_state(self) -> np.ndarray:
        return np.array([self.model.value_of(n) for n in self.state_names], dtype=np.float64)

    def initial_assignment_targets(self) -> list[str]:
        names = []
        for kind, index, _ in self.flat.initial:
            names.append(self.state_names[index] if kind == "y" else self.parameter_names[index])
        return names

    def timed_event_times(self) -> np.ndarray:
        """Times of the model's timed events with the default parameters (sorted)."""
        import sympy

        values = {
            sympy.Symbol(n): v
            for n, v in zip(self.parameter_names, self.default_parameters(), strict=True)
        }
        times = [float(e.xreplace(values)) for e in self.flat.timed_times]
        return np.sort(np.array([t for t in times if np.isfinite(t)], dtype=float))

    def kernel_arguments(self) -> tuple[object, ...]:
        """The model-specific leading arguments of :func:`mdrsim.engine.rodas.solve_range`."""
        m = self.module
        ev = self.flat.events
        return (
            (
                m.rhs,
                m.jac,
                m.dfdt,
                m.outputs,
                m.timed_event_times,
                m.triggers,
                m.initial_assignments,
                m.jac_sparse,
                m.lu_factor,
                m.lu_solve,
            ),
            m.apply_event,
            int(m.N_JAC),
            int(m.N_LU),
            bool(m.SPARSE_LU),
            np.array(ev.timed_index, dtype=np.int64),
            np.array(ev.state_index, dtype=np.int64),
            np.array(ev.initial_value, dtype=np.bool_),
            (
                m.event_values if ev.any_delayed else pending.no_event_values,
                m.event_write if ev.any_delayed else pending.no_event_write,
                m.event_priority if ev.by_priority else pending.no_event_priority,
                m.trigger_atoms if ev.any_delayed else pending.no_event_priority,
            ),
            pending.event_flags(
                ev.delayed,
                ev.persistent,
                ev.values_at_trigger,
                [1 + len(a) for a in self.flat.assignments],
                ev.has_priority,
                len(self.flat.trigger_atoms()) if ev.any_delayed else 0,
            ),
            len(self.flat.timed_times),
            len(self.flat.triggers),
            bool(self.flat.uses_time),
        )

    def warm_up(self) -> None:
        """Trigger numba compilation (or a cache load) now rather than at the first run."""
        from mdrsim.engine.ode import run_batch

        t = np.array([0.0, 1e-9])
        run_batch(
            self,
            self.default_parameters()[None, :],
            self.default_initial_state()[None, :],
            t,
            skip_init=np.zeros((1, len(self.flat.initial)), dtype=np.bool_),
        )


def compile_model(model: Model, *, cache: Path | None = None, warm: bool = True) -> CompiledModel:
    """Generate, cache and load the compiled form of ``model``.

    The first call for a model structure writes the generated module and numba compiles it
    (seconds); later calls — in this process or a new one — reuse the cached machine code.
    Changing only numbers (parameter values, initial states) never recompiles.
    """
    start = time.perf_counter()
    flat = flatten(model)
    key = source_key(flat)
    # The file name is the hash of everything the source depends on, so an existing file is
    # the right one and the (sympy-heavy) generation is skipped.
    module, path = _MODULES.get(key, lambda: generate_source(flat), cache)
    compiled = CompiledModel(model, flat, module, key, path, 0.0)
    if warm:
        compiled.warm_up()
    compiled.compile_seconds = time.perf_counter() - start
    return compiled


__all__ = ["CompiledModel", "cache_dir", "compile_model"]
