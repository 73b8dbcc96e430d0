"""Regimens as data (schedules, inhibitor courses, holidays, adaptive-therapy rules) and RECIST 1.1
response assessment. The one treatment-line runner is :mod:`mdrsim.patient.runner`."""
