"""Pre-aggregated tables the dashboard reads (issue 4); rebuilt by etl.aggregate."""
from __future__ import annotations
