"""Deterministic demo city: the messy inbox of a Shanghai street office and its true figures (see generator)."""
