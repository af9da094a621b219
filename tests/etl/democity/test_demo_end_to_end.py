"""The whole pipeline against the generator's truth: messy inbox in, `onenet summary` out, every figure equal."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dashboard.auth import check_login
from etl.database import make_engine
from etl.democity.generator import generate

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SCALE = "0.05"


def onenet(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "etl.cli", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)


def close(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and abs(a - b) < 1e-9)


def test_ingest_and_summary_equal_the_truth(db_url: str, tmp_path: Path) -> None:
    city = generate(tmp_path / "demo", seed=3, scale=float(SCALE))
    proc = onenet("--db", db_url, "ingest", str(city.inbox), "--json")
    files = json.loads(proc.stdout)["files"]
    assert proc.returncode == 1, "the corrupt file of the inbox must make ingest say so"
    failed = {Path(f["file"]).name for f in files if f["status"] == "failed"}
    assert failed == set(city.truth["corrupt_files"])
    assert all(f["error"] for f in files if f["status"] == "failed")
    assert sum(f["rejected"] for f in files) == sum(city.truth["rejects_expected"].values())
    assert sum(f.get("warnings", 0) for f in files) == sum(city.truth["warnings_expected"].values()) > 0

    problems = []
    for day, units in city.truth["figures"].items():
        for level in ("city", "district", "street"):
            got = {u["code"]: u for u in json.loads(onenet("--db", db_url, "summary", "--level", level, "--date", day, "--json").stdout)}
            for unit in (u for u in units if u["level"] == level):
                for key, want in unit.items():
                    if key not in ("level", "name") and not close(got[unit["code"]][key], want):
                        problems.append(f"{day} {level} {unit['name']} {key}: truth {want}, summary {got[unit['code']][key]}")
    assert not problems, "\n".join(problems[:30])

    rejects = onenet("--db", db_url, "rejects")
    assert rejects.returncode == 0
    lines = [line for line in rejects.stdout.splitlines() if " row " in line]
    assert lines and all("：" in line or ":" in line for line in lines)


def test_demo_command_runs_end_to_end_without_serving(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    proc = onenet("--db", f"sqlite:///{db}", "demo", "--dir", str(tmp_path / "city"), "--scale", SCALE, "--seed", "5", "--no-serve")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "equals the generator's truth" in proc.stdout, proc.stdout[-3000:]
    assert "onenet summary — district" in proc.stdout and "长宁区" in proc.stdout
    logins = dict(re.findall(r"^  (admin|changning|street|analyst) +(\S+)$", proc.stdout, re.MULTILINE))
    assert set(logins) == {"admin", "changning", "street", "analyst"}, "--no-serve prints the demo logins too"
    with Session(make_engine(f"sqlite:///{db}")) as session:
        assert all(check_login(session, user, password) is not None for user, password in logins.items())
    again = onenet("--db", f"sqlite:///{db}", "demo", "--dir", str(tmp_path / "city"), "--scale", SCALE, "--seed", "5", "--no-serve")
    assert again.returncode == 0 and "equals the generator's truth" in again.stdout, "running the demo twice starts afresh"
