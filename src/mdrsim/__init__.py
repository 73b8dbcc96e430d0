"""mdrsim: multidrug resistance (MDR1/P-gp), chemotherapy and CD8 T cells, simulated."""

from __future__ import annotations

__version__ = "0.1.0"
