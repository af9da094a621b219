"""`onenet demo`: generate the demo city, load it, and serve (issue 3)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pass
