"""The README's two commands are the ones that work: CI runs the README's test command, and that command
brings every outside program the suite drives (a fresh Debian machine has none of them)."""
from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Two commands"):text.index("## Command line")]
    return [m.strip() for m in re.findall(r"^```sh\n(.*)\n```$", section, re.MULTILINE)]


def test_the_readme_gives_two_commands_and_ci_runs_the_test_one() -> None:
    demo, test = readme_commands()
    assert demo.endswith(".venv/bin/onenet demo")
    assert test == "tests/run"
    assert os.access(ROOT / test, os.X_OK)
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == test, "the last line of .ci/run is the README's test command, as written"


def test_the_test_command_brings_what_the_suite_drives() -> None:
    script = (ROOT / "tests" / "run").read_text()
    for program, package in [("chromium", "chromium"), ("chromedriver", "chromium-driver"), ("soffice", "libreoffice-calc-nogui"),
                             ("pdftoppm", "poppler-utils"), ("pg_ctlcluster", "postgresql")]:
        assert f"command -v {program} >/dev/null 2>&1 || need_apt+=({package})" in script
    assert "pg_isready" in script and "CREATE DATABASE onenet_test" in script
    assert "pip install -q -e '.[test]'" in script and "pytest -q -n auto" in script
