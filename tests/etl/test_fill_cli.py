"""`onenet fill` as an official runs it: --check, the answers to files that are not templates, a street official's
scope, personal data, and the audit trail; the command run as a process on a real database of each engine."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy.orm import Session

from dashboard.auth import create_user
from etl.audit import as_json, entries
from etl.database import make_engine
from etl.excel import display_width
from tests.conftest import ENGINES
from tests.etl.test_fill import STREETS, D
from tests.etl.test_fill_template import NOTE, TEMPLATES, UNKNOWN, unseen_template
from tests.fixtures.sheets import JSL, loaded_world, write_city
from tests.fixtures.cli import onenet

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "street-official-2020"




@pytest.fixture(scope="module", params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The small city of tests/fixtures/sheets.py, with a street official of 江苏路 and a city analyst granted personal
    data, added by the code `onenet users add` runs."""
    with loaded_world(request.param, tmp_path_factory.mktemp("fill_cli"), write_city) as url:
        engine = make_engine(url)
        with Session(engine) as session, session.begin():
            create_user(session, "街道甲", PASSWORD, "street", JSL, created_by="cli:test")
            create_user(session, "分析员", PASSWORD, "analyst", "310000", can_see_personal_data=True, created_by="cli:test")
        engine.dispose()
        yield url


def fill_entries(url: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    with Session(engine) as session:
        found = [as_json(e) for e in entries(session, action="fill")]
    engine.dispose()
    return found


def test_check_prints_each_header_with_its_meaning_and_writes_nothing(tmp_path: Path) -> None:
    template = unseen_template(tmp_path / "新表.xlsx")
    database = tmp_path / "never.db"
    proc = onenet("--db", f"sqlite:///{database}", "fill", "--check", str(template))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "新表.xlsx：工作表 复工统计，表头第 3–4 行，每行一个街道，合计行第 7 行"
    table = {line.split()[0]: line.split()[1:] for line in lines[1:9]}
    assert table == {"A": ["序号", "序号", "1、2、3…"], "B": ["街道", "每行一个街道（名称）"],
                     "C": ["企业数", "指标：登记企业"], "D": ["已复工企业数", "指标：已复工企业"], "E": ["复工率", "指标：复工率"],
                     "F": ["返岗人员数", "指标：返岗人员"], "G": ["隔离中人数", "指标：隔离中"], "H": [UNKNOWN, "未识别，留空"]}
    starts = {display_width(line[:line.index(meaning, line.index(label) + len(label))])
              for line in lines[1:9] for _, label, meaning in [line.split()[:3]]}
    assert len(starts) == 1, "the meanings line up under each other"
    assert lines[9:] == [f"未识别的列（留空，不猜测）：H {UNKNOWN}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["新表.xlsx"], "--check writes nothing, opens no database"


def test_check_names_the_ambiguous_headers_of_a_shipped_template() -> None:
    proc = onenet("fill", "--check", str(TEMPLATES / "返岗人员统计表.xlsx"))
    assert proc.returncode == 0, proc.stderr
    staff = next(line for line in proc.stdout.splitlines() if line.split()[1:2] == ["员工总数"])
    assert "未申报的企业不计" in staff
    assert "未识别" not in proc.stdout


OLD_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


@pytest.mark.parametrize(("name", "content", "words", "check"), [
    ("旧表.xls", OLD_XLS, "另存为 .xlsx", True),
    ("旧表.xls", OLD_XLS, "另存为 .xlsx", False),
    ("表.csv", "序号,街道,企业数\n".encode(), "另存为 .xlsx", True),
    ("坏.xlsx", b"PK\x03\x04 not really a zip", "无法作为 Excel 工作簿打开", True),
    ("不存在.xlsx", None, "文件不存在", True),
    ("不存在.xlsx", None, "文件不存在", False),
])
def test_a_file_that_is_not_a_template_is_one_line_and_status_1(tmp_path: Path, name: str, content: bytes | None,
                                                                words: str, check: bool) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.xlsx"
    command = ["--check", str(path)] if check else [str(path), "--out", str(out), "--date", D.isoformat()]
    proc = onenet("--db", f"sqlite:///{tmp_path / 'a.db'}", "fill", *command)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()[-1:]
    assert line.startswith("onenet fill: ") and name in line and words in line, proc.stderr
    assert len([x for x in proc.stderr.strip().splitlines() if not x.startswith("database schema")]) == 1
    assert not out.exists()


def test_a_street_official_gets_their_street_and_the_audit_trail_records_it(db: str, tmp_path: Path) -> None:
    template = unseen_template(tmp_path / "新表.xlsx")
    out = tmp_path / "江苏路.xlsx"
    before = len(fill_entries(db))
    proc = onenet("--db", db, "fill", str(template), "--out", str(out), "--user", "街道甲", "--date", D.isoformat())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == [f"未识别的列（留空，不猜测）：H {UNKNOWN}",
                                             f"已写入 1 行（江苏路街道，2020-02-11）→ {out}"]
    ws = openpyxl.load_workbook(out)["复工统计"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=5, max_row=6, max_col=5)] == [
        [1, "江苏路街道", 2, 1, 0.5], ["合计", None, 2, 1, 0.5]]
    assert ws["A7"].value == NOTE

    found = fill_entries(db)
    assert len(found) == before + 1
    entry = found[0]
    assert entry["action_label"] == "按模板导出" and str(entry["actor"]).startswith("cli:")
    assert (entry["scope_code"], entry["day"], entry["rows"], entry["personal"]) == (JSL, "2020-02-11", 1, False)
    assert entry["detail"] == {"template": "新表.xlsx", "out": "江苏路.xlsx", "user": "街道甲"}
    listed = onenet("--db", db, "audit", "--action", "fill")
    assert listed.returncode == 0 and "新表.xlsx" in listed.stdout, listed.stderr


def test_a_street_official_can_narrow_nothing_outside_their_street(db: str, tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    district = unseen_template(tmp_path / "区表.xlsx", key="区")
    refused = onenet("--db", db, "fill", str(district), "--out", str(out), "--user", "街道甲", "--date", D.isoformat())
    assert refused.returncode == 1 and not out.exists()
    assert refused.stderr.strip().splitlines()[-1] == (
        "onenet fill: 本模板每行一个区，而您的范围是江苏路街道：请用每行一个街道、楼宇或企业的模板")
    street = unseen_template(tmp_path / "新表.xlsx")
    elsewhere = onenet("--db", db, "fill", str(street), "--out", str(out), "--user", "街道甲", "--street", "陆家嘴")
    assert elsewhere.returncode == 1 and not out.exists()
    assert "outside the scope of user 街道甲" in elsewhere.stderr and "Traceback" not in elsewhere.stderr


def test_personal_data_only_with_personal_for_a_granted_user(db: str, tmp_path: Path) -> None:
    template = TEMPLATES / "楼宇企业复工情况表.xlsx"
    out = tmp_path / "楼宇.xlsx"
    day = ("--date", D.isoformat())
    masked = onenet("--db", db, "fill", str(template), "--out", str(out), "--user", "街道甲", *day)
    assert masked.returncode == 0, masked.stderr
    ws = openpyxl.load_workbook(out)["楼宇复工"]
    assert [[c.value for c in row] for row in ws.iter_rows(min_row=4, max_row=5, max_col=6)] == [
        [1, "江苏路街道", "华鑫大厦", "华鑫物业", "王**", "139****0001"], ["合计", None, None, None, None, None]]

    refused = onenet("--db", db, "fill", str(template), "--out", str(out), "--user", "街道甲", "--personal", *day)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == "onenet: user 街道甲 is not granted personal data: leave out --personal"

    granted = onenet("--db", db, "fill", str(template), "--out", str(out), "--user", "分析员", "--personal", *day)
    assert granted.returncode == 0, granted.stderr
    ws = openpyxl.load_workbook(out)["楼宇复工"]
    assert [ws.cell(r, 3).value for r in (4, 5, 6)] == ["华鑫大厦", "新华大楼", "陆家嘴中心"]
    assert [ws["E4"].value, ws["F4"].value] == ["王经理", "13900000001"]
    assert fill_entries(db)[0]["personal"] is True


def test_district_and_street_options_cut_a_city_fill(db: str, tmp_path: Path) -> None:
    template = unseen_template(tmp_path / "新表.xlsx")
    out = tmp_path / "长宁.xlsx"
    proc = onenet("--db", db, "fill", str(template), "--out", str(out), "--district", "长宁", "--date", D.isoformat())
    assert proc.returncode == 0, proc.stderr
    assert [openpyxl.load_workbook(out)["复工统计"].cell(r, 2).value for r in (5, 6)] == STREETS[:2]
