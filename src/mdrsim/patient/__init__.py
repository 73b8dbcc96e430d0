"""The whole patient: one model joining PK, tumour clones, T cells, marrow and infections, run
through treatment lines from a scenario file (see :mod:`mdrsim.patient.scenario`)."""

from mdrsim.patient.model import PatientModel, PatientVariables, build_patient_model
from mdrsim.patient.run import PatientRun, run_scenario, summarise, summary_table
from mdrsim.patient.runner import PatientInputs, RunOutput, default_inputs, run_patients

__all__ = [
    "PatientInputs",
    "PatientModel",
    "PatientRun",
    "PatientVariables",
    "RunOutput",
    "build_patient_model",
    "default_inputs",
    "run_patients",
    "run_scenario",
    "summarise",
    "summary_table",
]
