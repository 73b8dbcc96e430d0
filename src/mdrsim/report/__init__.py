"""Figures and reports built from results (never imported by the core)."""
