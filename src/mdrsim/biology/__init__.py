"""Biology modules: functions that add one mechanism's species, parameters and reactions to a
:class:`~mdrsim.model.ModelBuilder`, so that the same mechanism composes into the in-vitro
assay, the mouse experiment and the patient model."""
