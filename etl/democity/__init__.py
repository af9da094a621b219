"""Deterministic demo city: the messy inbox of a Shanghai street office and its true figures."""
from etl.democity.generator import DemoCity, generate

__all__ = ["DemoCity", "generate"]
