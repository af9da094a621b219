"""`onenet serve`, `onenet users`, `onenet qr` (issues 4 and 5)."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pass
