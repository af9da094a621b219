"""The ingest pipeline as a whole (docs/cli.md#onenet-ingest): order of files, folders, the import summary and
its JSON, exit codes, progress, the database choice, and `ingest_tables` inside the caller's transaction (the
path QR submissions take).  The kill-in-the-middle test is tests/etl/test_kill_mid_load.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.queries.quality import rejects as quality_rejects
from etl import config
from etl.export import reject_rows
from etl.pipeline import FileResult, Ingestor, ingest_tables
from etl.read import read_tables
from etl.database import make_engine
from schemas.models import Enterprise, ImportBatch, Reject, ReopeningReport, ReturningStaff
from tests.fixtures import messy
from tests.fixtures.messy import JSL, make_id, make_uscc, write_csv
from tests.fixtures.cli import onenet

ROOT = Path(__file__).resolve().parents[2]
RANK = {"division": 0, "building": 1, "enterprise": 2, "reopening_report": 3, "returning_staff": 4}
JSON_KEYS = {"file", "sha256", "kind", "rows", "inserted", "updated", "unchanged", "rejected", "status"}


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """In this process (tests/fixtures/cli.py), or a process of its own with ``env``: the database named by
    $ONENET_DB and the data folder are read when the configuration is imported."""
    if env is None:
        return onenet(*args)
    return subprocess.run([sys.executable, "-m", "etl.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def ingest_json(db_url: str, *paths: Path) -> tuple[int, list[dict[str, Any]], str]:
    proc = run_cli("--db", db_url, "ingest", *map(str, paths), "--json")
    try:
        files = json.loads(proc.stdout)["files"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise AssertionError(f"not one JSON document ({exc}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}") from None
    return proc.returncode, files, proc.stderr


def test_files_named_in_any_order_load_registries_first(db_url: str, tmp_path: Path) -> None:
    p = messy.build_world1(tmp_path / "inbox")
    named = [p[k] for k in ("staff_csv", "report_0211", "staff_xlsx", "report_0210", "enterprises", "buildings",
                            "divisions")]
    rc, files, err = ingest_json(db_url, *named)
    assert rc == 0, err[-2000:]
    assert {Path(f["file"]).name for f in files} == {x.name for x in named}
    for f in files:
        assert JSON_KEYS <= set(f), f
        assert f["status"] == "loaded", f
        assert f["sha256"] == hashlib.sha256(Path(f["file"]).read_bytes()).hexdigest()
        assert f["inserted"] + f["updated"] + f["unchanged"] + f["rejected"] == f["rows"], f
    ranks = [RANK[f["kind"]] for f in files]
    assert ranks == sorted(ranks), f"files are reported in the order they were loaded: {[f['kind'] for f in files]}"
    # had the reports gone in before the registry, their streets or enterprises would not resolve
    assert sum(f["rejected"] for f in files) == 3, [(Path(f["file"]).name, f["rejected"]) for f in files]


def test_a_folder_takes_its_spreadsheets_and_skips_the_rest(db_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    messy.build_world3_good(inbox / "二月" / "第一周")
    (inbox / "说明.pdf").write_bytes(b"%PDF-1.4 not a spreadsheet")
    (inbox / "照片.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (inbox / "~$企业名录.xlsx").write_bytes(b"\x00lock file of an open workbook")
    (inbox / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    rc, files, err = ingest_json(db_url, inbox)
    assert rc == 0, (files, err[-2000:])
    assert sorted(Path(f["file"]).name for f in files) == ["企业名录.csv", "区划.csv", "复工申报.csv"]
    assert all(f["status"] == "loaded" for f in files)


def test_plain_import_summary_has_one_line_per_file(db_url: str, tmp_path: Path) -> None:
    good = messy.build_world3_good(tmp_path / "good")
    proc = run_cli("--db", db_url, "ingest", str(tmp_path / "good"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    for path, kind in ((good["divisions"], "区划表"), (good["enterprises"], "企业名录"),
                       (good["report"], "企业复工申报")):
        line = next((x for x in lines if path.name in x), None)
        assert line is not None, proc.stdout
        assert kind in line and line.endswith("已导入"), line
    again = run_cli("--db", db_url, "ingest", str(tmp_path / "good"))
    assert again.returncode == 0
    assert sum(x.endswith("未变化") for x in again.stdout.splitlines()) == 3, again.stdout
    reloaded = run_cli("--db", db_url, "ingest", "--reload", str(tmp_path / "good"), "--json")
    assert reloaded.returncode == 0, reloaded.stderr[-2000:]
    files = json.loads(reloaded.stdout)["files"]
    assert [f["status"] for f in files] == ["loaded"] * 3 and all(f["inserted"] == f["updated"] == 0 for f in files), files


def test_the_database_comes_from_onenet_db_when_no_db_is_given(db_url: str, tmp_path: Path) -> None:
    messy.build_world3_good(tmp_path / "good")
    env = dict(os.environ, ONENET_DB=db_url)
    proc = run_cli("ingest", str(tmp_path / "good"), "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Session(make_engine(db_url)) as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 2
    proc = run_cli("summary", "--level", "street", "--date", "2020-02-12", "--json", env=env)
    assert proc.returncode == 0
    njxl = {u["code"]: u for u in json.loads(proc.stdout)}[messy.NJXL]
    assert (njxl["enterprises"], njxl["reopened"]) == (2, 1)


def test_a_header_only_file_loads_zero_rows(db_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "返岗.csv", [["姓名", "身份证号", "返沪日期"]])
    rc, files, _ = ingest_json(db_url, path)
    assert rc == 0
    assert (files[0]["status"], files[0]["kind"], files[0]["rows"]) == ("loaded", "returning_staff", 0)


def test_a_date_without_year_takes_the_year_of_the_file(db_url: str, tmp_path: Path) -> None:
    """返沪日期 holds no year anywhere; the file's other date column (隔离截止日期) says 2021."""
    folder = tmp_path / "in"
    write_csv(folder / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    a, b = make_id("310105", "19800808", "041"), make_id("310105", "19810909", "052")
    write_csv(folder / "返岗.csv", [
        ["姓名", "身份证号", "所属街道", "返沪日期", "隔离状态", "隔离截止日期"],
        ["甲", a, "江苏路", "2月6日", "居家隔离", "2021-02-20"],
        ["乙", b, "江苏路", "2月3日", "无需隔离", ""],
    ])
    Ingestor(make_engine(db_url), log=lambda m: None).ingest([folder])
    with Session(make_engine(db_url)) as s:
        dates = sorted(s.scalars(select(ReturningStaff.return_date)))
    assert dates == [date(2021, 2, 3), date(2021, 2, 6)]


# --------------------------------------------------------------------------- progress


def _big_csv(path: Path, n: int) -> Path:
    """n distinct people."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("姓名,身份证号,区,返沪日期\n")
        for i in range(n):
            body = f"310105{date(1960, 1, 1) + timedelta(days=i // 1000):%Y%m%d}{i % 1000:03d}"
            fh.write(f"员工{i},{body}{messy.id_check(body)},长宁,2020-02-{1 + i % 28:02d}\n")
    return path


def test_long_loads_report_progress(db_url: str, tmp_path: Path) -> None:
    big = _big_csv(tmp_path / "返岗_大.csv", 120_000)
    calls: list[tuple[str, int, int]] = []
    results = Ingestor(make_engine(db_url), progress=lambda label, done, total: calls.append((label, done, total)),
                       log=lambda m: None).ingest([big])
    assert results[0].status == "loaded" and results[0].rows == 120_000, results[0]
    assert calls, "no progress reported for a 120,000-row file"
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[-1] == calls[-1][2] == 120_000
    assert len({d for d in done if 0 < d < 120_000}) >= 1, "progress only at the start and the end"
    assert all(big.name in label for label, _, _ in calls)


@pytest.mark.slow  # 120,000 rows: the command reports progress from 100,000 rows on
def test_the_cli_shows_progress_of_a_long_load(db_url: str, tmp_path: Path) -> None:
    big = _big_csv(tmp_path / "返岗_大.csv", 120_000)
    proc = run_cli("--db", db_url, "ingest", str(big))
    assert proc.returncode == 0, proc.stderr[-2000:]
    progress = [m.groups() for x in proc.stderr.splitlines()
                if big.name in x and (m := re.search(r"([\d,]+)/(120,000) rows \((\d+)%\)", x))]
    assert len(progress) >= 2, proc.stderr[-3000:]
    for line in progress:
        done, total, pct = (int(g.replace(",", "")) for g in line)
        assert pct == done * 100 // total, line


# --------------------------------------------------------------------------- ingest_tables in the caller's transaction


def _tables(tmp_path: Path) -> tuple[list[Any], list[Any], str]:
    u = make_uscc("91310105MA1QR0001")
    registry = [*read_tables(write_csv(tmp_path / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"],
                                                                [JSL, "江苏路街道", "街道", "310105"]])),
                *read_tables(write_csv(tmp_path / "名录.csv", [["企业名称", "统一社会信用代码", "所属街道", "类型"],
                                                                ["上海扫码有限公司", u, "江苏路", "企业"]]))]
    report = read_tables(write_csv(tmp_path / "表单.csv", [
        ["企业名称", "统一社会信用代码", "是否复工", "员工总数", "已返岗人数", "填报时间"],
        ["上海扫码有限公司", u, "是", "10", "6", "2020-02-10 09:00"]]))
    return registry, report, u


def _batch(session: Session, name: str) -> ImportBatch:
    batch = ImportBatch(file_name=name, file_path=name, sha256=hashlib.sha256(name.encode()).hexdigest(),
                        status="loading", started_at=config.local_now())
    session.add(batch)
    session.flush()
    return batch


def test_ingest_tables_works_inside_the_callers_transaction(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    Ingestor(engine, log=lambda m: None)  # tables and the shipped districts
    registry, report, _ = _tables(tmp_path)
    with Session(engine) as s, s.begin():
        for table in registry:
            ingest_tables(s, _batch(s, f"reg-{table.kind.name}"), [table])

    with Session(engine) as s:
        s.begin()
        result = ingest_tables(s, _batch(s, "submission-1"), report)
        assert isinstance(result, FileResult) and (result.rows, result.inserted, result.rejected) == (1, 1, 0)
        assert s.scalar(select(func.count()).select_from(ReopeningReport)) == 1, "visible inside the transaction"
        s.rollback()
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ReopeningReport)) == 0, "the caller rolled back: nothing stays"
        assert s.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.file_name == "submission-1")) == 0

    with Session(engine) as s, s.begin():
        result = ingest_tables(s, _batch(s, "submission-2"), report)
    with Session(engine) as s:
        stored = s.scalars(select(ReopeningReport)).one()
        batch = s.get(ImportBatch, stored.batch_id)
    assert (stored.reopened, stored.staff_total, stored.staff_returned) == (True, 10, 6)
    assert batch.file_name == "submission-2" and batch.status == "loaded" and batch.rows == 1
    engine.dispose()


@pytest.mark.parametrize("order", ["registry_first", "report_first"])
def test_a_report_file_alone_against_a_stored_registry(db_url: str, tmp_path: Path, order: str) -> None:
    """Each day's report arrives on its own, against the registry loaded days before."""
    messy.build_world3_good(tmp_path / "good")
    good = sorted((tmp_path / "good").iterdir())
    report = next(p for p in good if p.name == "复工申报.csv")
    others = [p for p in good if p != report]
    if order == "registry_first":
        rc, _, _ = ingest_json(db_url, *others)
        rc2, files, err = ingest_json(db_url, report)
        assert rc == rc2 == 0, err
        assert (files[0]["inserted"], files[0]["rejected"]) == (1, 0), files
    else:
        rc, files, err = ingest_json(db_url, report, *others)
        assert rc == 0, err
        entry = next(f for f in files if Path(f["file"]).name == report.name)
        assert (entry["inserted"], entry["rejected"]) == (1, 0), entry
    with Session(make_engine(db_url)) as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 2, "the report matched the registry"


def test_a_workbook_holding_a_registry_and_reports_loads_the_registry_first(db_url: str, tmp_path: Path) -> None:
    from tests.fixtures.messy import Sheet, write_xlsx

    u1, u2 = make_uscc("91310105MA1WB0001"), make_uscc("91310105MA1WB0002")
    write_csv(tmp_path / "d" / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    book = write_xlsx(tmp_path / "w" / "江苏路汇总.xlsx", [
        Sheet("复工申报", rows=[["企业名称", "统一社会信用代码", "街道", "是否复工", "填报时间"],
                                ["上海册一有限公司", u1, "江苏路", "是", "2020-02-10 09:00"]]),
        Sheet("企业名录", rows=[["企业名称", "统一社会信用代码", "所属街道", "行业", "类型"],
                                ["上海册一有限公司", u1, "江苏路", "软件", "企业"],
                                ["上海册二有限公司", u2, "江苏路", "贸易", "企业"]]),
    ])
    rc, _, err = ingest_json(db_url, tmp_path / "d", book)
    assert rc == 0, err
    with Session(make_engine(db_url)) as s:
        ents = s.scalars(select(Enterprise)).all()
    assert len(ents) == 2 and all(e.from_registry and e.registered_at is None for e in ents), \
        [(e.name, e.from_registry, e.registered_at) for e in ents]


def test_a_path_that_does_not_exist_fails_with_exit_1(db_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "没有这个文件.xlsx"
    rc, files, _ = ingest_json(db_url, missing)
    assert rc == 1
    assert files[0]["status"] == "failed" and missing.name in (files[0].get("error") or ""), files


@pytest.mark.parametrize("with_street", [False, True], ids=["district_only", "with_street"])
def test_dashboard_aggregates_refresh_after_a_first_load_of_returning_staff(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_street: bool) -> None:
    """After a run the Ingestor refreshes the dashboard aggregates (etl.aggregate); with ONENET_DEBUG a failure
    there surfaces instead of becoming a warning.  A database that holds returning staff and no enterprise yet."""
    folder = tmp_path / "in"
    write_csv(folder / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    write_csv(folder / "返岗.csv", [
        ["姓名", "身份证号", "所属街道", "所属区", "返沪日期"],
        *[[f"员工{i}", make_id("310105", "19800101", f"{i:03d}"), "江苏路" if with_street else "", "长宁", "2020-02-01"]
          for i in range(3)],
    ])
    monkeypatch.setenv("ONENET_DEBUG", "1")
    messages: list[str] = []
    results = Ingestor(make_engine(db_url), log=messages.append).ingest([folder])
    assert [r.status for r in results] == ["loaded", "loaded"], [(r.file, r.error) for r in results]
    assert not [m for m in messages if "WARNING" in m], messages


def test_a_bad_optional_value_is_left_empty_with_a_warning_and_the_row_loads(db_url: str, tmp_path: Path) -> None:
    """Issue 18: a returning-staff row with a valid ID and name was rejected whole for a 10-digit phone.
    Now the phone is left empty, the row loads, and a warning names file, sheet, row and field
    (docs/rules.md#validation-and-rejects); a row with a bad required value is still rejected, and so is
    a report dated in the future."""
    people = [make_id("310105", "19800101", "011"), make_id("310105", "19800102", "012")]
    wb = openpyxl.Workbook()
    wb.active.title = "返岗"
    for row in (["姓名", "身份证号", "手机号", "所属街道", "返沪日期"],
                ["甲", people[0], "1380013800", "江苏路", "2020-02-05"],      # row 2: the phone has 10 digits
                ["乙", people[1][:-1] + ("0" if people[1][-1] != "0" else "1"), "1380013800", "江苏路", "2020-02-05"]):
        wb.active.append(row)
    staff = tmp_path / "in" / "返岗登记.xlsx"
    staff.parent.mkdir()
    wb.save(staff)
    write_csv(tmp_path / "in" / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    later = config.local_now() + timedelta(days=3)
    write_csv(tmp_path / "in" / "申报.csv", [["企业名称", "所属街道", "是否复工", "填报时间"],
                                            ["上海甲有限公司", "江苏路", "是", f"{later:%Y-%m-%d %H:%M}"],
                                            ["上海乙有限公司", "江苏路", "是", "2020-02-10 09:00"]])
    engine = make_engine(db_url)
    results = {Path(r.file).name: r for r in Ingestor(engine, log=lambda m: None).ingest([tmp_path / "in"])}
    loaded = results["返岗登记.xlsx"]
    assert (loaded.rows, loaded.inserted, loaded.rejected, loaded.warnings) == (2, 1, 1, 1), loaded
    assert loaded.sheets[0]["warnings"] == 1
    report = results["申报.csv"]
    assert (report.inserted, report.rejected, report.warnings) == (1, 1, 0), report
    with Session(engine) as s:
        person = s.execute(select(ReturningStaff.name, ReturningStaff.phone, ReturningStaff.return_date)).one()
        assert tuple(person) == ("甲", None, date(2020, 2, 5))
        got = s.execute(select(ImportBatch.file_name, Reject.sheet, Reject.row_number, Reject.field, Reject.code,
                               Reject.severity, Reject.reason).join(ImportBatch, ImportBatch.id == Reject.batch_id)
                        .order_by(Reject.id)).all()
        assert s.scalar(select(ImportBatch.warnings).where(ImportBatch.id == loaded.batch_id)) == 1
        assert s.scalar(select(ImportBatch.rejected).where(ImportBatch.id == loaded.batch_id)) == 1
        listed = list(reject_rows(s))
        _, shown = quality_rejects(s, None)
    warnings = [g for g in got if g.severity == "warning"]
    assert [tuple(w[:6]) for w in warnings] == [("返岗登记.xlsx", "返岗", 2, "phone", "phone_invalid", "warning")]
    assert "1380013800" in warnings[0].reason and "已留空" in warnings[0].reason and "已导入" in warnings[0].reason
    errors = {(g.file_name, g.row_number, g.field, g.code) for g in got if g.severity == "error"}
    # Row 3's phone is as bad, but the row was rejected for its ID: nothing of it loaded, so no warning says so.
    assert errors == {("返岗登记.xlsx", 3, "id_number", "id_checksum"), ("返岗登记.xlsx", 3, "phone", "phone_invalid"),
                      ("申报.csv", 2, "submitted_at", "future_date")}, errors
    future = next(g for g in got if g.code == "future_date")
    assert f"{later:%Y-%m-%d}" in future.reason and "改正" in future.reason
    assert {(r[2], r[3], r[4]) for r in listed if r[0] == "返岗登记.xlsx"} == {
        (2, "警告", "phone"), (3, "退回", "id_number"), (3, "退回", "phone")}, listed
    assert {(r["row"], r["severity"], r["field"]) for r in shown if r["file"] == "返岗登记.xlsx"} == {
        (2, "警告", "手机号"), (3, "退回", "身份证号"), (3, "退回", "手机号")}, shown


def test_the_log_suggests_reload_only_for_rows_a_registry_can_help_and_says_a_failure_once(db_url: str, tmp_path: Path) -> None:
    """Issue 18: `--reload` was suggested after rows that failed on bad data, where loading again cannot help,
    and a failed file's reason was printed in the log and again in the table."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_csv(folder / "坏身份证.csv", [["姓名", "身份证号", "所属街道", "所属区", "返沪日期"],
                                      ["甲", "310105198001010000", "江苏路", "长宁", "2020-02-01"]])
    write_csv(folder / "无街道.csv", [["姓名", "身份证号", "所属街道", "所属区", "返沪日期"],
                                     ["乙", make_id("310105", "19800101", "021"), "不存在街道", "长宁", "2020-02-01"]])
    messy.write_corrupt_xlsx(folder / "损坏.xlsx")
    first: list[str] = []
    Ingestor(make_engine(db_url), log=first.append).ingest([folder])
    failed = [m for m in first if m.startswith("损坏.xlsx")]
    assert failed == ["损坏.xlsx: FAILED, nothing of it stored (the reason is in the table at the end)"]
    assert any(m.startswith("无街道.csv: 返岗人员登记 1 rows: 0 inserted") for m in first), first
    again: list[str] = []
    Ingestor(make_engine(db_url), log=again.append).ingest([folder / "坏身份证.csv", folder / "无街道.csv"])
    bad_id = next(m for m in again if m.startswith("坏身份证.csv"))
    no_street = next(m for m in again if m.startswith("无街道.csv"))
    assert "unchanged" in bad_id and "--reload" not in bad_id
    assert "1 of its rows were rejected then for want of a division, street or enterprise" in no_street
    assert "`onenet ingest --reload`" in no_street


def test_a_reject_of_an_empty_value_does_not_show_a_placeholder(db_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "申报.csv", [["企业名称", "统一社会信用代码", "街道", "是否复工", "填报时间"],
                                            ["", "", "江苏路", "是", "2020-02-10 09:00"]])
    [result] = Ingestor(make_engine(db_url), log=lambda m: None).ingest([path])
    with Session(make_engine(db_url)) as s:
        [reason] = s.scalars(select(Reject.reason).where(Reject.batch_id == result.batch_id)).all()
    assert reason.startswith("缺少企业名称和统一社会信用代码") and "<NA>" not in reason and "nan" not in reason, reason
