"""Regimens as data, RECIST 1.1 response assessment, treatment lines and adaptive therapy."""
