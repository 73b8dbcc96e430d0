"""Simulated experiments built from biology modules (in-vitro assays, mouse studies)."""
