"""Calibration: PEtab objectives with forward-sensitivity gradients, multi-start fits, profiles.

>>> from mdrsim.io.petab import load_petab
>>> from mdrsim.fit import Objective, multistart
>>> problem = load_petab("Boehm_JProteomeRes2014.yaml")          # doctest: +SKIP
>>> objective = Objective(problem)                              # doctest: +SKIP
>>> objective.llh()             # log-likelihood at the nominal parameters  # doctest: +SKIP
>>> result = multistart(objective, n_starts=20, seed=1)          # doctest: +SKIP
>>> result.table                # one row per start: status, objective, θ  # doctest: +SKIP
"""

from mdrsim.fit.objective import Objective, ObjectiveOptions
from mdrsim.fit.sensitivities import SensitivityModel, sensitivity_model

__all__ = ["Objective", "ObjectiveOptions", "SensitivityModel", "sensitivity_model"]
