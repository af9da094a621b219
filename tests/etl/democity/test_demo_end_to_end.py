"""The whole pipeline against the generator's truth: messy inbox in, `onenet summary` out, every figure equal.  The
inbox is the run's demo city (``demo_build``) as `onenet ingest` loaded it into SQLite in a process of its own, and a
smaller one loaded into PostgreSQL here; `onenet demo` runs once as its own process, the README's command end to end; the
other commands call `onenet`'s main in this process, with the same arguments and what they print."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dashboard.auth import check_login
from etl.cli import main
from etl.database import make_engine
from etl.democity.generator import generate
from tests.conftest import ENGINES, demo_database, empty_database

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SCALE = "0.01"


def onenet(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "etl.cli", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=timeout, check=False)


def onenet_here(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`onenet` in this process: its exit status and what it printed on standard output."""
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


def close(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and abs(a - b) < 1e-9)


@contextmanager
def ingested(kind: str, build: Path, folder: Path,
             capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[str, int, list[Any], dict[str, Any]]]:
    """A demo inbox loaded by `onenet ingest --json`: the database, the exit status, the files it reported and the
    generator's truth.  On SQLite a copy of the run's demo city, which `onenet ingest` loaded in a process of its own
    (tests/fixtures/web.py); on PostgreSQL a demo city of scale 0.01 (the same kinds of mess, a fifth of the rows)
    loaded here."""
    if kind == "sqlite":
        said = json.loads((build / "ingest.json").read_text("utf-8"))
        with demo_database(build, kind, folder) as url:
            yield url, said["returncode"], said["files"], json.loads((build / "demo" / "truth.json").read_text("utf-8"))
        return
    city = generate(folder / "city", seed=7, scale=0.01)
    with empty_database(kind, folder) as url:
        code, out = onenet_here(capsys, "--db", url, "ingest", str(city.inbox), "--json")
        yield url, code, json.loads(out)["files"], city.truth


@pytest.mark.parametrize("kind", ENGINES)
def test_ingest_and_summary_equal_the_truth(kind: str, demo_build: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with ingested(kind, demo_build, tmp_path, capsys) as (db_url, code, files, truth):
        _equal_the_truth(db_url, code, files, truth, capsys)


def _equal_the_truth(db_url: str, code: int, files: list[Any], truth: dict[str, Any],
                     capsys: pytest.CaptureFixture[str]) -> None:
    assert code == 1, "the corrupt file of the inbox must make ingest say so"
    failed = {Path(f["file"]).name for f in files if f["status"] == "failed"}
    assert failed == set(truth["corrupt_files"])
    assert all(f["error"] for f in files if f["status"] == "failed")
    assert sum(f["rejected"] for f in files) == sum(truth["rejects_expected"].values())
    assert sum(f.get("warnings", 0) for f in files) == sum(truth["warnings_expected"].values()) > 0

    problems = []
    for day, units in truth["figures"].items():
        for level in ("city", "district", "street"):
            code, out = onenet_here(capsys, "--db", db_url, "summary", "--level", level, "--date", day, "--json")
            assert code == 0, (day, level)
            got = {u["code"]: u for u in json.loads(out)}
            for unit in (u for u in units if u["level"] == level):
                for key, want in unit.items():
                    if key not in ("level", "name") and not close(got[unit["code"]][key], want):
                        problems.append(f"{day} {level} {unit['name']} {key}: truth {want}, summary {got[unit['code']][key]}")
    assert not problems, "\n".join(problems[:30])

    code, out = onenet_here(capsys, "--db", db_url, "rejects")
    assert code == 0
    lines = [line for line in out.splitlines() if " row " in line]
    assert lines and all("：" in line or ":" in line for line in lines)


def test_demo_command_runs_end_to_end_without_serving(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.db"
    demo = ("--db", f"sqlite:///{db}", "demo", "--dir", str(tmp_path / "city"), "--scale", SCALE, "--seed", "5", "--no-serve")
    proc = onenet(*demo)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "equals the generator's truth" in proc.stdout, proc.stdout[-3000:]
    assert "onenet summary — district" in proc.stdout and "长宁区" in proc.stdout
    logins = dict(re.findall(r"^  (admin|changning|street|analyst) +(\S+)$", proc.stdout, re.MULTILINE))
    assert set(logins) == {"admin", "changning", "street", "analyst"}, "--no-serve prints the demo logins too"
    with Session(make_engine(f"sqlite:///{db}")) as session:
        assert all(check_login(session, user, password) is not None for user, password in logins.items())
    code, again = onenet_here(capsys, *demo)
    assert code == 0 and "equals the generator's truth" in again, "running the demo twice starts afresh"
