"""Reading real files (docs/sources.md#what-real-spreadsheets-do): headers found wherever they sit, non-data rows
dropped, every data sheet loaded, every format and encoding; and files that cannot be read at all fail
with a clear error that names the file and what to do, changing nothing in the database.

Files are written with openpyxl, xlwt, the csv module and msoffcrypto-tool (tests/fixtures/messy.py);
broken files are run through `onenet ingest` as a user runs it.
"""
from __future__ import annotations

import hmac
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import xlwt
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.orm import Session

from etl import config
from etl.read import Table, UnreadableFile, read_tables
from etl.validate import normalise_table
from tests.fixtures import messy
from tests.fixtures.messy import Sheet, make_id, write_csv, write_xls, write_xlsx
from tests.fixtures.cli import onenet

ROOT = Path(__file__).resolve().parents[2]

ID_A = make_id("310105", "19850312", "123")
ID_B = make_id("310104", "19900101", "456")
ID_C = make_id("310115", "19920315", "222")


def only(tables: list[Table]) -> Table:
    assert len(tables) == 1, [(t.sheet, t.kind.name, len(t.frame)) for t in tables]
    return tables[0]


def column(table: Table, field: str) -> list[Any]:
    return [None if pd.isna(v) else v for v in table.frame[field].tolist()]


# --------------------------------------------------------------------------- headers


def test_header_below_title_rows_in_xlsx(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "staff.xlsx", [Sheet("二月", rows=[
        ["长宁区返岗人员登记表"],                                   # row 1, merged title
        ["填报单位：江苏路街道", None, None, "填报日期：2020-02-10"],   # row 2, a second title line
        ["姓名", "身份证号", "返沪日期", "隔离状态"],                # row 3 header
        ["张伟", ID_A, date(2020, 2, 8), "居家隔离"],               # row 4
        ["李娜", ID_B, date(2020, 2, 9), "无需隔离"],               # row 5
    ], merges=["A1:D1"])])
    t = only(read_tables(path))
    assert t.kind.name == "returning_staff" and t.sheet == "二月"
    assert {"name", "id_number", "return_date", "quarantine_status"} <= set(t.frame.columns)
    assert column(t, "name") == ["张伟", "李娜"]
    assert t.frame["_row"].tolist() == [4, 5]


def test_header_below_title_lines_in_csv(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "企业名录.csv", [
        ["黄浦区企业名录（2020年2月）", "", "", ""],
        ["", "", "", ""],
        ["企业名称", "统一社会信用代码", "所属街道", "类型"],
        ["上海黄一有限公司", messy.UH1, "南京东路", "企业"],
        ["上海外一有限公司", messy.UW1, "外滩", "企业"],
    ], encoding="gbk")
    t = only(read_tables(path))
    assert t.kind.name == "enterprise"
    assert column(t, "enterprise_name") == ["上海黄一有限公司", "上海外一有限公司"]
    assert t.frame["_row"].tolist() == [4, 5], "row numbers are the lines a person sees in the file"


def test_merged_two_row_header(tmp_path: Path) -> None:
    """World 1's building registry: a title, then 业主信息 merged over 业主单位/联系人/联系电话 and the
    other headers merged vertically over both rows."""
    p = messy.build_world1(tmp_path / "w1")
    t = only(read_tables(p["buildings"]))
    assert t.kind.name == "building"
    assert {"building", "address", "street", "district", "owner", "owner_contact", "owner_phone",
            "building_type"} <= set(t.frame.columns)
    assert column(t, "building") == ["华鑫大厦", "江苏路商务楼", "新华科技楼", "陆家嘴金融中心"]
    assert column(t, "owner_contact") == ["王伟民", "钱芳", "孙立", "李强"]
    assert column(t, "building_type") == ["商务楼宇", "商务楼宇", "科技园区", "商务楼宇"]
    assert t.frame["_row"].tolist() == [4, 5, 6, 7]


def test_merged_two_row_header_of_a_report_with_group_headings(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "复工.xlsx", [Sheet("申报", rows=[
        ["企业复工申报"],
        ["企业名称", "统一社会信用代码", "复工情况", None, "员工情况", None, "填报时间"],
        [None, None, "是否复工", "实际复工日期", "员工总数", "已返岗人数", None],
        ["上海甲科技有限公司", messy.U1, "是", "2020-02-10", 50, 10, "2020-02-10 09:30"],
    ], merges=["A1:G1", "A2:A3", "B2:B3", "C2:D2", "E2:F2", "G2:G3"])])
    t = only(read_tables(path))
    assert t.kind.name == "reopening_report"
    assert {"enterprise_name", "uscc", "reopened", "actual_reopen_date", "staff_total", "staff_returned",
            "submitted_at"} <= set(t.frame.columns)
    assert column(t, "staff_total") == [50] and column(t, "reopened") == ["是"]
    assert t.frame["_row"].tolist() == [4]


def test_merged_two_row_header_in_legacy_xls(tmp_path: Path) -> None:
    path = tmp_path / "楼宇.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("楼宇")
    ws.write_merge(0, 0, 0, 5, "楼宇台账")
    for c, label in enumerate(["楼宇名称", "所属街道", "区"]):
        ws.write_merge(1, 2, c, c, label)
    ws.write_merge(1, 1, 3, 5, "业主信息")
    for c, label in enumerate(["业主单位", "联系人", "联系电话"], start=3):
        ws.write(2, c, label)
    for c, value in enumerate(["华鑫大厦", "江苏路街道", "长宁区", "华鑫物业", "王伟民", "13800138000"]):
        ws.write(3, c, value)
    wb.save(str(path))
    t = only(read_tables(path))
    assert t.kind.name == "building"
    assert column(t, "owner") == ["华鑫物业"] and column(t, "owner_contact") == ["王伟民"]
    assert t.frame["_row"].tolist() == [4]


# --------------------------------------------------------------------------- rows that are not data


def test_totals_blank_and_repeated_header_rows_are_dropped(tmp_path: Path) -> None:
    header = ["序号", "姓名", "身份证号", "返沪日期", "隔离状态"]
    path = write_xlsx(tmp_path / "staff.xlsx", [Sheet("名单", rows=[
        header,                                               # 1
        [1, "张伟", ID_A, "2020-02-08", "居家隔离"],          # 2
        [None, None, None, None, None],                       # 3 blank
        [2, "李娜", ID_B, "2020-02-09", "无需隔离"],          # 4
        header,                                               # 5 header repeated (printed pages)
        [3, "陈静", ID_C, "2020-02-10", "集中隔离"],          # 6
        [None, None, None, None, None],                       # 7 blank
        ["合计", "3人", None, None, None],                     # 8 totals in the 序号 column
        [None, "总计", None, None, None],                      # 9 totals in the name column
    ])])
    t = only(read_tables(path))
    assert column(t, "name") == ["张伟", "李娜", "陈静"]
    assert t.frame["_row"].tolist() == [2, 4, 6]


def test_totals_blank_and_repeated_header_rows_are_dropped_in_csv(tmp_path: Path) -> None:
    header = ["姓名", "身份证号", "返沪日期", "隔离状态"]
    path = write_csv(tmp_path / "staff.csv", [
        header,                                     # line 1
        ["张伟", ID_A, "2020-02-08", "居家隔离"],    # 2
        ["", "", "", ""],                           # 3
        [" 姓 名 ", "身份证号", "返沪日期", "隔离状态"],  # 4 repeated header
        ["李娜", ID_B, "2020-02-09", "无需隔离"],    # 5
        ["合 计", "2", "", ""],                      # 6
    ], encoding="utf-8-sig")
    t = only(read_tables(path))
    assert column(t, "name") == ["张伟", "李娜"]
    assert t.frame["_row"].tolist() == [2, 5]


def test_several_data_sheets_load_and_a_hidden_notes_sheet_is_skipped(tmp_path: Path) -> None:
    p = messy.build_world1(tmp_path / "w1")
    tables = read_tables(p["report_0210"])
    assert [(t.sheet, t.kind.name, len(t.frame)) for t in tables] == [
        ("长宁区", "reopening_report", 4), ("浦东新区", "reopening_report", 1)]
    changning = tables[0]
    assert column(changning, "enterprise_name") == ["上海甲科技有限公司", "上海乙贸易有限公司", "丁记面馆",
                                                     "上海己文化传媒有限公司"]
    assert changning.frame["_row"].tolist() == [3, 4, 6, 7]
    assert tables[1].frame["_row"].tolist() == [2]


def test_sheets_of_different_kinds_in_one_workbook(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "台账.xlsx", [
        Sheet("说明", rows=[["本表由街道经济科维护"], ["请勿修改表头"]]),
        Sheet("楼宇", rows=[["楼宇名称", "地址", "所属街道", "业主单位"], ["华鑫大厦", "江苏路100号", "江苏路", "华鑫物业"]]),
        Sheet("企业", rows=[["企业名称", "统一社会信用代码", "所在楼宇", "所属街道", "行业"],
                            ["上海甲科技有限公司", messy.U1, "华鑫大厦", "江苏路", "软件"]]),
        Sheet("空白", rows=[]),
    ])
    tables = read_tables(path)
    assert [(t.sheet, t.kind.name, len(t.frame)) for t in tables] == [("楼宇", "building", 1), ("企业", "enterprise", 1)]


# --------------------------------------------------------------------------- formats and encodings

STAFF_ROWS = [
    ["姓名", "身份证号", "手机号", "返沪日期", "隔离状态", "体温"],
    ["张伟", ID_A, "13800138001", date(2020, 2, 8), "居家隔离", 36.5],
    ["李娜", ID_B, "13900139002", date(2020, 2, 11), "无需隔离", 36.6],
    ["陈静", ID_C, "13900139005", date(2020, 2, 13), "集中隔离", 36.4],
]


def _as_text(rows: list[list[Any]]) -> list[list[Any]]:
    return [[v.isoformat() if isinstance(v, date) else v for v in row] for row in rows]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv-utf-8", "csv-utf-8-sig", "csv-gbk"])
def test_every_format_and_encoding_reads_to_the_same_values(tmp_path: Path, fmt: str) -> None:
    if fmt == "xlsx":
        path = write_xlsx(tmp_path / "staff.xlsx", [Sheet("Sheet1", rows=STAFF_ROWS)])
    elif fmt == "xls":
        path = write_xls(tmp_path / "staff.xls", "Sheet1", STAFF_ROWS)
    else:
        path = write_csv(tmp_path / "staff.csv", _as_text(STAFF_ROWS), encoding=fmt.removeprefix("csv-"))
    t = only(read_tables(path))
    assert t.kind.name == "returning_staff"
    assert t.frame["_row"].tolist() == [2, 3, 4]
    typed, errors = normalise_table(t, None)
    assert errors.empty, errors
    assert typed["name"].tolist() == ["张伟", "李娜", "陈静"]
    # The raw number stays in the read table: normalised, it is masked and hashed.
    assert typed["id_number"].tolist() == [i[:6] + "********" + i[-4:] for i in (ID_A, ID_B, ID_C)]
    secret = os.environ["ONENET_SECRET"].encode()
    assert typed["id_hash"].tolist() == [hmac.digest(secret, i.encode(), "sha256") for i in (ID_A, ID_B, ID_C)]
    assert typed["phone"].tolist() == ["13800138001", "13900139002", "13900139005"]
    assert typed["return_date"].tolist() == [date(2020, 2, 8), date(2020, 2, 11), date(2020, 2, 13)]
    assert typed["quarantine_status"].tolist() == ["居家隔离", "无需隔离", "集中隔离"]
    assert [float(v) for v in typed["temperature"]] == [36.5, 36.6, 36.4]


def test_gbk_csv_with_characters_outside_gb2312(tmp_path: Path) -> None:
    """GBK holds characters GB2312 lacks (镕, 喆, 堃): common in names."""
    path = write_csv(tmp_path / "staff.csv", [
        ["姓名", "身份证号", "返沪日期"], ["朱镕", ID_A, "2020-02-08"], ["王喆", ID_B, "2020-02-09"], ["李堃", ID_C, "2020-02-10"],
    ], encoding="gbk")
    t = only(read_tables(path))
    assert column(t, "name") == ["朱镕", "王喆", "李堃"]


def test_xls_date_and_datetime_cells(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "复工.xls", "复工", [
        ["企业名称", "是否复工", "实际复工日期", "填报时间"],
        ["上海甲科技有限公司", "是", date(2020, 2, 10), datetime(2020, 2, 10, 9, 30)],
    ])
    t = only(read_tables(path))
    typed, errors = normalise_table(t, None)
    assert errors.empty, errors
    assert typed["actual_reopen_date"].tolist() == [date(2020, 2, 10)]
    assert typed["submitted_at"].tolist() == [datetime(2020, 2, 10, 9, 30)]


# --------------------------------------------------------------------------- files that cannot be read


@pytest.fixture(scope="module")
def zip_bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {"5gib": messy.write_zip_bomb_xlsx(folder / "bomb5.xlsx", expanded_gib=5),
            "1gib": messy.write_zip_bomb_xlsx(folder / "bomb1.xlsx", expanded_gib=1)}


def _broken(kind: str, folder: Path, bombs: dict[str, Path]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    report = Sheet("复工", rows=[
        ["企业名称", "统一社会信用代码", "街道", "是否复工", "实际复工日期", "填报时间"],
        ["上海静二餐饮有限公司", messy.UJ2, "南京西路", "是", "2020-02-10", "2020-02-10 09:00"],
    ])
    if kind == "corrupt_xlsx":
        return messy.write_corrupt_xlsx(folder / "损坏的复工申报.xlsx")
    if kind == "corrupt_xls":
        return messy.write_corrupt_xlsx(folder / "损坏的名录.xls", seed=7)
    if kind == "truncated_xlsx":
        whole = write_xlsx(folder / "whole.xlsx", [report])
        cut = folder / "下载中断的申报.xlsx"
        cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
        whole.unlink()
        return cut
    if kind == "empty_csv":
        return messy.write_empty(folder / "空文件.csv")
    if kind == "empty_xlsx":
        return messy.write_empty(folder / "空文件.xlsx")
    if kind == "blank_csv":
        path = folder / "只有空行.csv"
        path.write_text("\n\n ,,\n\n", encoding="utf-8")
        return path
    if kind == "encrypted_xlsx":
        return messy.write_encrypted_xlsx(folder / "加密的复工申报.xlsx", [report])
    if kind == "noheader_csv":
        return write_csv(folder / "无表头.csv", [["苹果", "3", "好"], ["香蕉", "5", "一般"], ["梨", "2", "坏"]])
    if kind == "noheader_xlsx":
        return write_xlsx(folder / "无表头.xlsx", [Sheet("Sheet1", rows=[["苹果", 3, "好"], ["香蕉", 5, "一般"]]),
                                                 Sheet("说明", rows=[["这是一张说明"]], hidden=True)])
    if kind in ("bomb_5gib", "bomb_1gib"):
        path = folder / f"zip炸弹_{kind}.xlsx"
        path.write_bytes(bombs[kind.removeprefix("bomb_")].read_bytes())
        return path
    raise AssertionError(kind)


# What the error must name (the problem), in Chinese or English.
PROBLEM = {
    "corrupt_xlsx": r"损坏|无法|格式|不是|corrupt|damaged|invalid|cannot|unreadable",
    "corrupt_xls": r"损坏|无法|格式|不是|corrupt|damaged|invalid|cannot|unreadable",
    "truncated_xlsx": r"损坏|无法|格式|不完整|截断|corrupt|damaged|invalid|truncated|incomplete",
    "empty_csv": r"空|empty|0 bytes|no data",
    "empty_xlsx": r"空|empty|0 bytes|no data",
    "blank_csv": r"空|表头|empty|no data|header",
    "encrypted_xlsx": r"密码|加密|password|encrypt|protected",
    "noheader_csv": r"表头|列名|标题|识别|header|column",
    "noheader_xlsx": r"表头|列名|标题|识别|header|column",
    "bomb_5gib": r"zip|炸弹|压缩|解压|过大|超过|bomb|compress|expand|too (large|big)|ratio|limit",
    "bomb_1gib": r"zip|炸弹|压缩|解压|过大|超过|bomb|compress|expand|too (large|big)|ratio|limit",
}
# And what to do about it.
ADVICE = r"请|please|re-?export|save as|另存|重新|检查|确认|check|remove|拆分"
BROKEN = list(PROBLEM)


@pytest.mark.parametrize("kind", BROKEN)
def test_unreadable_files_raise_a_clear_error(tmp_path: Path, zip_bombs: dict[str, Path], kind: str) -> None:
    path = _broken(kind, tmp_path / "bad", zip_bombs)
    with pytest.raises(UnreadableFile) as info:
        read_tables(path)
    message = str(info.value)
    assert re.search(PROBLEM[kind], message, re.IGNORECASE), message
    assert re.search(ADVICE, message, re.IGNORECASE), f"the error should say what to do: {message}"


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return onenet("--db", db_url, *args)


RECORDS_OF_ACTIONS = ("import_batch", "audit_log")
"""Tables that record what was tried, the failures too: a failed load adds to them and changes nothing else."""


def snapshot(db_url: str) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """Every row of every table (sorted, as text), and the records of actions apart (the import ledger, then
    the audit trail)."""
    engine = create_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    tables: dict[str, list[str]] = {}
    ledger: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            rows = [tuple(r) for r in conn.execute(select(table))]
            if table.name in RECORDS_OF_ACTIONS:
                ledger += [dict(r._mapping, table=table.name) for r in conn.execute(select(table).order_by(table.c.id))]
            else:
                tables[table.name] = sorted(repr(r) for r in rows)
    engine.dispose()
    return tables, ledger


@pytest.fixture
def stored_world(db_url: str, tmp_path: Path) -> str:
    """World 3's good files (静安 南京西路: two enterprises, one report) already loaded."""
    messy.build_world3_good(tmp_path / "good")
    proc = run_cli(db_url, "ingest", str(tmp_path / "good"), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(f["status"] == "loaded" for f in json.loads(proc.stdout)["files"]), proc.stdout
    return db_url


@pytest.mark.parametrize("kind", BROKEN)
def test_ingest_of_an_unreadable_file_fails_exit_1_and_changes_nothing(
        stored_world: str, tmp_path: Path, zip_bombs: dict[str, Path], kind: str) -> None:
    db_url = stored_world
    path = _broken(kind, tmp_path / "bad", zip_bombs)
    before, ledger_before = snapshot(db_url)
    assert before["enterprise"] and before["reopening_report"], "the stored world should not be empty"

    proc = run_cli(db_url, "ingest", str(path), "--json")
    assert proc.returncode == 1, f"exit code {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    files = json.loads(proc.stdout)["files"]
    assert len(files) == 1 and Path(files[0]["file"]).name == path.name, files
    entry = files[0]
    assert entry["status"] == "failed", entry
    error = entry.get("error") or ""
    assert path.name in error, f"the error should name the file: {error!r}"
    assert re.search(PROBLEM[kind], error, re.IGNORECASE), f"the error should name the problem: {error!r}"
    assert re.search(ADVICE, error, re.IGNORECASE), f"the error should say what to do: {error!r}"
    assert not entry.get("inserted") and not entry.get("updated")

    after, ledger_after = snapshot(db_url)
    assert after == before, {t: (len(before[t]), len(after[t])) for t in before if before[t] != after[t]}
    old = {t: [r for r in ledger_before if r["table"] == t] for t in RECORDS_OF_ACTIONS}
    now = {t: [r for r in ledger_after if r["table"] == t] for t in RECORDS_OF_ACTIONS}
    assert all(now[t][: len(old[t])] == old[t] for t in RECORDS_OF_ACTIONS), "existing ledger or audit entries changed"
    new = now["import_batch"][len(old["import_batch"]):]
    assert all(b["status"] == "failed" for b in new), new
    assert len(new) <= 1, new
    [audited] = now["audit_log"][len(old["audit_log"]):]
    assert audited["action"] == "ingest" and '"failed": 1' in audited["detail"], audited


@pytest.mark.parametrize("kind", ["corrupt_xlsx", "encrypted_xlsx", "noheader_csv"])
def test_plain_ingest_output_names_the_failed_file(db_url: str, tmp_path: Path, zip_bombs: dict[str, Path],
                                                   kind: str) -> None:
    path = _broken(kind, tmp_path / "bad", zip_bombs)
    proc = run_cli(db_url, "ingest", str(path))
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert path.name in out and "failed" in out.lower(), out
    assert re.search(PROBLEM[kind], out, re.IGNORECASE), out


def test_a_good_file_next_to_broken_ones_still_loads(stored_world: str, tmp_path: Path,
                                                     zip_bombs: dict[str, Path]) -> None:
    db_url = stored_world
    extra = messy.build_world3_extra(tmp_path / "extra")
    broken = [_broken(k, tmp_path / "bad", zip_bombs) for k in ("corrupt_xlsx", "empty_csv", "encrypted_xlsx")]
    proc = run_cli(db_url, "ingest", *map(str, broken), str(extra), "--json")
    assert proc.returncode == 1
    files = {Path(f["file"]).name: f for f in json.loads(proc.stdout)["files"]}
    assert files[extra.name]["status"] == "loaded" and files[extra.name]["inserted"] == 1, files[extra.name]
    assert [files[b.name]["status"] for b in broken] == ["failed"] * 3


def test_zip_bomb_fixture_is_what_it_claims(zip_bombs: dict[str, Path]) -> None:
    for name, gib in (("5gib", 5), ("1gib", 1)):
        info = zipfile.ZipFile(zip_bombs[name]).getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size == gib << 30 and zip_bombs[name].stat().st_size < 8 << 20


def test_password_protected_fixture_really_is_encrypted(tmp_path: Path, zip_bombs: dict[str, Path]) -> None:
    import msoffcrypto

    path = _broken("encrypted_xlsx", tmp_path, zip_bombs)
    with open(path, "rb") as fh:
        assert msoffcrypto.OfficeFile(fh).is_encrypted()
    with pytest.raises(zipfile.BadZipFile):
        openpyxl.load_workbook(path)


def test_a_table_that_starts_away_from_a1(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "staff.xlsx", [Sheet("s", rows=[
        [], [],
        [None, None, "姓名", "身份证号", "返沪日期"],        # header at C3
        [None, None, "张伟", ID_A, "2020-02-01"],            # row 4
        [None, None, "合计", "1人", None],
    ])])
    t = only(read_tables(path))
    assert column(t, "name") == ["张伟"] and t.frame["_row"].tolist() == [4]


def test_headers_typed_with_line_breaks_inside_a_cell(tmp_path: Path) -> None:
    """Alt+Enter in an Excel header cell: "员工\\n总数"."""
    path = write_xlsx(tmp_path / "复工.xlsx", [Sheet("s", rows=[
        ["企业\n名称", "统一社会\n信用代码", "是否\n复工", "员工总数\n（人）", "已返岗\r\n人数", "填报\n时间"],
        ["上海甲科技有限公司", messy.U1, "是", 50, 10, "2020-02-10 09:30"],
    ])])
    t = only(read_tables(path))
    assert t.kind.name == "reopening_report"
    assert {"enterprise_name", "uscc", "reopened", "staff_total", "staff_returned", "submitted_at"} <= set(t.frame.columns)


def test_a_failed_file_is_tried_again_next_time_not_called_unchanged(db_url: str, tmp_path: Path,
                                                                      zip_bombs: dict[str, Path]) -> None:
    paths = [_broken(k, tmp_path / "bad", zip_bombs) for k in ("encrypted_xlsx", "noheader_csv")]
    for _ in range(2):
        proc = run_cli(db_url, "ingest", *map(str, paths), "--json")
        assert proc.returncode == 1
        assert [f["status"] for f in json.loads(proc.stdout)["files"]] == ["failed", "failed"], proc.stdout


# --------------------------------------------------------------------------- control characters

NUL_ENTERPRISE = "上海静\x00三贸易\x07有限公司"
NUL_PERSON = "王\x00小\x01明"


def _control_character_files(folder: Path, fmt: str) -> list[Path]:
    """A division registry, then an enterprise registry and a staff list (CSV or a real .xlsx from
    xlsxwriter, which writes control characters as Excel's _x0000_ escapes) with NULs and other C0
    controls inside names, and a rejected row whose raw value holds a NUL."""
    import xlsxwriter

    uscc = messy.make_uscc("91310106MA1FL0033")
    registry = [["企业名称", "统一社会信用代码", "所属街道", "所属区"], [NUL_ENTERPRISE, uscc, "南京西路", "静安"]]
    staff = [["姓名\x00", "身份证号", "企业名称", "街道", "返沪日期"],
             [NUL_PERSON, ID_A, NUL_ENTERPRISE, "南京西路", "2020-02-01"],
             ["赵\x00六", "31010\x0019850312", NUL_ENTERPRISE, "南京西路", "2020-02-01"]]
    files = [write_csv(folder / "区划.csv", [["代码", "名称", "级别", "上级代码"], [messy.NJXL, "南京西路街道", "街道", "310106"]])]
    for name, rows in (("企业名录", registry), ("返岗人员", staff)):
        if fmt == "csv":
            files.append(write_csv(folder / f"{name}.csv", rows))
            continue
        path = folder / f"{name}.xlsx"
        with xlsxwriter.Workbook(path) as workbook:
            sheet = workbook.add_worksheet("Sheet1")
            for r, row in enumerate(rows):
                sheet.write_row(r, 0, row)
        files.append(path)
    return files


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_control_characters_in_cells_are_removed_and_names_stored_whole(db_url: str, tmp_path: Path, fmt: str) -> None:
    from etl.database import make_engine
    from etl.pipeline import Ingestor
    from schemas.models import Enterprise, Reject, ReturningStaff

    files = _control_character_files(tmp_path / fmt, fmt)
    if fmt == "xlsx":  # the file really carries the NUL, as Excel's escape
        assert b"_x0000_" in zipfile.ZipFile(files[1]).read("xl/sharedStrings.xml")
    engine = make_engine(db_url)
    results = Ingestor(engine, log=lambda m: None).ingest(files)
    assert [(r.status, r.error) for r in results] == [("loaded", None)] * 3, results
    assert results[2].inserted == 1 and results[2].rejected == 1, results[2]
    with Session(engine) as s:
        assert s.scalars(select(Enterprise.name).where(Enterprise.uscc.is_not(None))).all() == ["上海静三贸易有限公司"]
        assert s.scalars(select(ReturningStaff.name)).all() == ["王小明"]
        raws = s.scalars(select(Reject.raw)).all()
        assert raws and not any("\x00" in (raw or "") for raw in raws), raws
    engine.dispose()


def test_control_characters_leave_tabs_and_line_breaks_as_spaces(tmp_path: Path) -> None:
    from etl.text import clean_scalar, clean_text

    assert clean_scalar("张\x00三\x1b") == "张三"
    assert clean_scalar("上海\t静三\r\n贸易\x0b公司\x7f") == "上海 静三 贸易 公司"
    cells = pd.Series(["a\x00b", "c\td", "\x00", None] * 20_000, dtype="string[pyarrow]")
    assert clean_text(cells).iloc[:4].tolist() == ["ab", "c d", pd.NA, pd.NA]
    assert clean_text(pd.Series(["a\x00b", 5, None], dtype=object)).tolist() == ["ab", "5", pd.NA]


def test_a_stray_nul_does_not_make_a_csv_binary_but_utf16_still_is(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nul.csv", [["姓名", "身份证号"], ["张\x00三", ID_A]])
    assert column(only(read_tables(path)), "name") == ["张三"]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("姓名,身份证号\n张三," + ID_A + "\n", encoding="utf-16")
    with pytest.raises(UnreadableFile, match="二进制"):
        read_tables(utf16)


# --------------------------------------------------------------------------- limits while reading

STAFF_HEADER = ["姓名", "身份证号", "街道", "返沪日期"]


def _staff_rows(n: int) -> list[list[Any]]:
    return [STAFF_HEADER] + [[f"张{i}", make_id("310105", "19850312", f"{i % 1000:03d}"), "南京西路", "2020-02-01"]
                             for i in range(n)]


def _write_staff_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    import xlsxwriter

    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet("返岗人员")
        for r, row in enumerate(rows):
            sheet.write_row(r, 0, row)
    return path


def _declare_size(path: Path, member: str, size: int) -> None:
    """Patch both zip headers of ``member`` to claim ``size`` bytes uncompressed (what a hostile file does)."""
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(member)
    data[info.header_offset + 22: info.header_offset + 26] = size.to_bytes(4, "little")
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_length = int.from_bytes(data[at + 28: at + 30], "little")
        if data[at + 46: at + 46 + name_length].decode() == member:
            data[at + 24: at + 28] = size.to_bytes(4, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def test_a_zip_entry_that_lies_about_its_size_is_refused_while_inflating(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_staff_xlsx(tmp_path / "说谎的.xlsx", _staff_rows(3000))
    real = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    _declare_size(path, "xl/worksheets/sheet1.xml", 1000)
    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size == 1000 < real
    monkeypatch.setattr(config, "MAX_UNZIPPED_BYTES", real // 2)  # the declared sizes fit, the real ones do not
    with pytest.raises(UnreadableFile, match=r"(解压|声明).*(拒绝).*请"):
        read_tables(path)


def test_a_zip_entry_inflating_past_the_cap_is_stopped_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from etl import guards

    path = _write_staff_xlsx(tmp_path / "大.xlsx", _staff_rows(3000))
    real = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    pieces: list[int] = []
    monkeypatch.setattr(guards, "CHUNK", 4096)
    original = guards.zlib.decompressobj

    class Counting:
        def __init__(self, *args: Any) -> None:
            self.inner = original(*args)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self.inner.decompress(data, max_length)
            pieces.append(len(out))
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(guards.zlib, "decompressobj", Counting)
    monkeypatch.setattr(config, "MAX_UNZIPPED_BYTES", real // 4)
    _declare_size(path, "xl/worksheets/sheet1.xml", 1000)
    with pytest.raises(UnreadableFile):
        read_tables(path)
    assert pieces and sum(pieces) <= real // 4 + 4096 < real, "inflating must stop once the cap is passed"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_over_the_row_cap_is_refused_naming_it_and_asking_to_split(db_url: str, tmp_path: Path, fmt: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from etl.database import make_engine
    from etl.pipeline import Ingestor
    from schemas.models import ReturningStaff

    monkeypatch.setattr(config, "MAX_ROWS", 100)
    at_cap, over = tmp_path / f"整好.{fmt}", tmp_path / f"太多行.{fmt}"
    write = (lambda p, rows: write_csv(p, rows)) if fmt == "csv" else _write_staff_xlsx
    write(at_cap, _staff_rows(99))  # 100 rows with the header
    write(over, _staff_rows(150))
    divisions = write_csv(tmp_path / "区划.csv", [["代码", "名称", "级别", "上级代码"], [messy.NJXL, "南京西路街道", "街道", "310106"]])
    engine = make_engine(db_url)
    results = Ingestor(engine, log=lambda m: None).ingest([divisions, at_cap, over])
    engine.dispose()
    by_name = {Path(r.file).name: r for r in results}
    assert (by_name[at_cap.name].status, by_name[at_cap.name].inserted) == ("loaded", 99), by_name[at_cap.name]
    bad = by_name[over.name]
    assert bad.status == "failed" and over.name in bad.error, bad
    assert "100" in bad.error and "拆分" in bad.error, bad.error
    with Session(make_engine(db_url)) as s:
        assert len(s.scalars(select(ReturningStaff.id)).all()) == 99


def test_the_row_cap_comes_from_the_environment() -> None:
    env = {**os.environ, "ONENET_MAX_ROWS": "1234"}
    out = subprocess.run([sys.executable, "-c", "from etl import config; print(config.MAX_ROWS)"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "1234"


def test_a_sheet_over_excels_row_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Excel stops at 1,048,576 rows; a sheet with more was not saved by Excel (empty rows compress to little)."""
    path = _write_staff_xlsx(tmp_path / "源.xlsx", _staff_rows(3))
    hostile = tmp_path / "超过Excel行数.xlsx"
    rows = b"".join(b'<row r="%d"/>' % r for r in range(1, 1_048_578))
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData>" + rows + b"</sheetData>", data, flags=re.S)
            target.writestr(info.filename, data)
    monkeypatch.setattr(config, "MAX_ROWS", 10_000_000)
    with pytest.raises(UnreadableFile, match=r"1,048,576.*请拆分"):
        read_tables(hostile)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_over_the_cell_cap_is_refused_asking_to_drop_columns_or_split(tmp_path: Path, fmt: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MAX_CELLS", 300)
    path = tmp_path / f"宽.{fmt}"
    rows = _staff_rows(99)  # 100 rows of 4 columns
    write_csv(path, rows) if fmt == "csv" else _write_staff_xlsx(path, rows)
    with pytest.raises(UnreadableFile, match=r"300 个单元格.*拆分"):
        read_tables(path)
    monkeypatch.setattr(config, "MAX_CELLS", 400)
    assert len(only(read_tables(path)).frame) == 99
