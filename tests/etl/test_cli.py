"""The `onenet` command's answers to a mistyped day or a database it cannot open: one line, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from etl.cli import day_argument, print_import_summary
from etl.excel import display_width
from tests.fixtures.cli import onenet

ROOT = Path(__file__).resolve().parents[2]


def onenet_process(*args: str) -> subprocess.CompletedProcess[str]:
    """`onenet` as its own process: the console script's exit status and output (the other tests run it in this one)."""
    return subprocess.run([sys.executable, "-m", "etl.cli", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("spelling", ["2020/02/28", "2020-2-28", "2020年2月28日", "20200228", "2020.02.28"])
def test_a_day_in_the_spellings_ingest_reads(spelling: str) -> None:
    assert day_argument(spelling) == date(2020, 2, 28)


def test_summary_takes_a_day_written_with_slashes(tmp_path: Path) -> None:
    proc = onenet_process("--db", f"sqlite:///{tmp_path / 'a.db'}", "summary", "--date", "2020/02/28")
    assert proc.returncode == 0, proc.stderr
    assert "onenet summary — district, 2020-02-28" in proc.stdout
    table = proc.stdout.splitlines()[1:]
    assert len(table) == 17 and len({display_width(line) for line in table}) == 1, "columns line up under Chinese names"


@pytest.mark.parametrize(("command", "spelling"), [
    (["summary"], "2020-02-31"), (["summary"], "2020-13-01"), (["summary"], "yesterday"), (["summary"], "2/28"),
    (["export", "--out", "x.xlsx"], "2020-02-30"), (["remind", "--street", "x", "--out", "y.xlsx"], "2020/02/30"),
])
def test_a_day_that_is_not_one_is_refused_in_one_line(tmp_path: Path, command: list[str], spelling: str) -> None:
    proc = onenet("--db", f"sqlite:///{tmp_path / 'a.db'}", *command, "--date", spelling)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"onenet: --date '{spelling}' is not a day of the calendar: give it as 2020-02-28 (2020/2/28 or 2020年2月28日 work too)"]
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize(("command", "url", "reason"), [
    (["summary"], "sqlite:////nonexistent-folder/a.db", "cannot create or open files in the folder /nonexistent-folder"),
    (["ingest", "."], "postgresql+psycopg://postgres@127.0.0.1:1/onenet", "Connection refused"),
    (["export", "--out", "x.xlsx"], "not a url", "Could not parse SQLAlchemy URL"),
    (["remind", "--street", "x", "--out", "y.xlsx"], "nosuchdb://x/y", "Can't load plugin"),
])
def test_a_database_that_cannot_be_opened_is_one_line(command: list[str], url: str, reason: str) -> None:
    proc = onenet("--db", url, *command)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("onenet: cannot open the database ") and reason in line and "--db or $ONENET_DB" in line


def test_the_ingest_table_lines_up_under_chinese_file_names_and_says_kinds_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    from etl.pipeline import FileResult

    print_import_summary([
        FileResult(file="/in/a_返岗人员登记_长宁区新华路街道二月份第二周补报名单.csv", kind="returning_staff", rows=7,
                   inserted=5, rejected=1, warnings=1),
        FileResult(file="/in/g.csv", kind="division+building", rows=1_234_567, inserted=1_234_567),
        FileResult(file="/in/损坏.xlsx", status="failed", error="损坏.xlsx: 文件已损坏"),
    ])
    lines = capsys.readouterr().out.splitlines()
    header, staff, registry, broken = lines[0], lines[1], lines[2], lines[3]
    status_at = display_width(header[:header.index("状态")])
    for line in (staff, registry, broken):
        assert display_width(line) - display_width(line.split()[-1]) == status_at, line
    assert "返岗人员登记" in staff and "returning_staff" not in staff and staff.endswith("已导入")
    assert "区划表＋楼宇台账" in registry and "1,234,567" in registry
    assert broken.endswith("失败") and lines[4].strip() == "损坏.xlsx: 文件已损坏"
    assert lines[5].startswith("1 rows rejected and 1 optional values left empty")
