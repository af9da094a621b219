"""Validation (docs/rules.md#validation-and-rejects): typed columns, row-level errors with field and reason, derived defaults; and in the
pipeline, a row that fails is rejected with file, sheet, row, field and reason while the rest of the file loads.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from etl import config
from etl.normalise import ERRORS, WARNING_NOTE
from etl.pipeline import Ingestor
from etl.read import read_tables
from etl.validate import apply_defaults, normalise_table
from etl.database import make_engine
from schemas.models import ImportBatch, Reject, ReturningStaff
from tests.fixtures.cli import onenet
from tests.fixtures.messy import (
    JSL,
    Sheet,
    make_id,
    make_uscc,
    write_csv,
    write_xlsx,
    wrong_check,
)

ROOT = Path(__file__).resolve().parents[2]
IDS = [make_id("310105", f"1980010{i}", f"{i:03d}") for i in range(1, 10)]


def errors_by_row(errors, frame, severity: str | None = None) -> dict[int, set[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    out: dict[int, set[tuple[str, str]]] = {}
    for idx, field, code, level in errors[["idx", "field", "code", "severity"]].itertuples(index=False):
        if severity is None or level == severity:
            out.setdefault(int(frame.at[idx, "_row"]), set()).add((field, code))
    return out


def test_staff_rows_typed_and_errors_named_by_field(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "返岗.csv", [
        ["姓名", "身份证号", "手机号", "返沪日期", "隔离状态", "隔离截止日期", "体温"],   # 1
        ["甲", IDS[0], "138-0013-8000", "2020/2/10", "居家隔离", "", "36.5℃"],           # 2 fine
        ["乙", "", "13800138000", "2020-02-10", "无需隔离", "", "36.6"],                 # 3 no ID: required
        ["丙", "3.10105E+17", "13800138000", "2020-02-10", "无需隔离", "", ""],          # 4 ID lost
        ["丁", wrong_check(IDS[3]), "", "2020-02-10", "", "", ""],                       # 5 check character
        ["戊", IDS[4], "12345", "2020-02-30", "在家", "", "45"],                         # 6 four bad fields
        ["己", IDS[5], "", "", "集中", "2020-02-20", ""],                                 # 7 alias of 集中隔离
    ])
    table = read_tables(path)[0]
    typed, errors = normalise_table(table, None)
    got = errors_by_row(errors, typed)
    assert got == {
        3: {("id_number", "required")},
        4: {("id_number", "id_stored_as_number")},
        5: {("id_number", "id_checksum")},
        6: {("phone", "phone_invalid"), ("return_date", "date_invalid"), ("quarantine_status", "quarantine_invalid"),
            ("temperature", "temperature_range")},
    }, got
    assert set(errors_by_row(errors, typed, "warning")) == {6}, "bad optional values are warnings, bad IDs errors"
    row6 = typed[typed["_row"] == 6].iloc[0]
    assert all(pd.isna(row6[f]) for f in ("phone", "return_date", "quarantine_status", "temperature")), \
        "a warned value is left empty, a temperature out of range too"
    assert row6["name"] == "戊" and row6["id_number"].startswith(IDS[4][:6])
    row2 = typed[typed["_row"] == 2].iloc[0]
    assert (row2["id_number"], row2["phone"], row2["return_date"], row2["temperature"]) == (
        IDS[0][:6] + "********" + IDS[0][-4:], "13800138000", date(2020, 2, 10), 36.5)
    assert "id_hash" in typed and not any(IDS[0] in str(v) for v in row2.to_numpy())
    assert typed[typed["_row"] == 7].iloc[0]["quarantine_status"] == "集中隔离"
    for code in set(errors["code"]):
        assert ERRORS[code] and re.search(r"[\u4e00-\u9fff]", ERRORS[code]), code


def test_report_rules(tmp_path: Path) -> None:
    u = make_uscc("91310105MA1WD0001")
    now = config.local_now()
    later, soon = (f"{now + timedelta(days=3):%Y-%m-%d %H:%M}", f"{now + timedelta(hours=20):%Y-%m-%d %H:%M}")
    path = write_csv(tmp_path / "申报.csv", [
        ["企业名称", "统一社会信用代码", "是否复工", "员工总数", "已返岗人数", "填报时间"],
        ["上海甲有限公司", u, "是", "10", "12", "2020-02-10 09:00"],   # 2 more returned than employed
        ["", "", "是", "10", "5", "2020-02-10 09:00"],                # 3 no enterprise at all
        ["上海乙有限公司", "", "是", "-3", "五", "2020-02-10 25:00"],   # 4 bad numbers and time
        ["上海丙有限公司", u[:-1] + ("0" if u[-1] != "0" else "1"), "是", "10", "5", "2020-02-10"],  # 5 bad USCC
        ["上海丁有限公司", "", "是", "10", "10", "2020-02-10 09:00"],   # 6 fine
        ["上海戊有限公司", "", "是", "10", "10", later],               # 7 dated in the future
        ["上海己有限公司", "", "是", "10", "10", soon],                # 8 within the tolerance of a day
    ])
    typed, errors = normalise_table(read_tables(path)[0], None)
    got = errors_by_row(errors, typed)
    assert got[2] == {("staff_total", "staff_returned_exceeds_total"), ("staff_returned", "staff_returned_exceeds_total")}
    assert ("enterprise_name", "enterprise_missing") in got[3]
    assert {f for f, _ in got[4]} == {"staff_total", "staff_returned", "submitted_at"}, got[4]
    assert got[5] == {("uscc", "uscc_invalid")}
    assert 6 not in got and 8 not in got
    assert got[7] == {("submitted_at", "future_date")}
    assert errors_by_row(errors, typed, "error") == {3: got[3], 7: got[7]}, \
        "only a row naming no enterprise, or dated in the future, is rejected; the other bad values are optional"
    contradicting = typed[typed["_row"] == 2].iloc[0]
    assert pd.isna(contradicting["staff_total"]) and pd.isna(contradicting["staff_returned"])
    assert "改正" in ERRORS["future_date"] and "填报时间" in ERRORS["future_date"]


def test_quarantine_end_defaults_to_return_date_plus_14_days(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "返岗.csv", [
        ["姓名", "身份证号", "返沪日期", "隔离状态", "隔离截止日期"],
        ["甲", IDS[0], "2020-02-01", "居家隔离", ""],
        ["乙", IDS[1], "2020-02-20", "集中隔离", ""],
        ["丙", IDS[2], "2020-02-01", "居家隔离", "2020-02-10"],
        ["丁", IDS[3], "2020-02-01", "已解除", ""],
        ["戊", IDS[4], "2020-02-01", "无需隔离", ""],
        ["己", IDS[5], "", "居家隔离", ""],
    ])
    typed, errors = normalise_table(read_tables(path)[0], None)
    assert errors.empty, errors
    ends = apply_defaults(read_tables(path)[0].kind, typed)["quarantine_end"].tolist()
    assert ends[:3] == [date(2020, 2, 15), date(2020, 3, 5), date(2020, 2, 10)]
    assert all(pd.isna(e) for e in ends[3:]), ends


def test_quarantine_end_default_across_a_month_end_in_the_database(db_url: str, tmp_path: Path) -> None:
    write_csv(tmp_path / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    write_csv(tmp_path / "返岗.csv", [
        ["姓名", "身份证号", "所属街道", "返沪日期", "隔离状态"],
        ["甲", IDS[0], "江苏路", "2020-02-20", "居家隔离"],
    ])
    Ingestor(make_engine(db_url), log=lambda m: None).ingest([tmp_path])
    with Session(make_engine(db_url)) as s:
        end = s.scalars(select(ReturningStaff.quarantine_end)).one()
    assert end == date(2020, 2, 20) + timedelta(days=14) == date(2020, 3, 5)


# --------------------------------------------------------------------------- rejects in the pipeline


@pytest.fixture
def rejected_world(db_url: str, tmp_path: Path) -> tuple[str, Path]:
    folder = tmp_path / "in"
    write_csv(folder / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    write_xlsx(folder / "返岗登记.xlsx", [
        Sheet("说明", rows=[["填报说明"]], hidden=True),
        Sheet("第一批", rows=[
            ["江苏路街道返岗人员登记"],                                                      # 1
            ["姓名", "身份证号", "手机号", "所属街道", "返沪日期", "隔离状态"],               # 2
            ["甲", IDS[0], "13800138000", "江苏路", "2020-02-01", "居家隔离"],               # 3 ok
            ["乙", 310105198001020000, "13800138000", "江苏路", "2020-02-01", "居家隔离"],   # 4 number cell
            ["丙", IDS[2], "13800138000", "幸福路", "2020-02-01", "居家隔离"],               # 5 unknown street
            ["丁", IDS[3], "电话", "江苏路", "2020-02-31", "居家隔离"],                      # 6 two bad optional fields
        ]),
        Sheet("第二批", rows=[
            ["姓名", "身份证号", "手机号", "所属街道", "返沪日期", "隔离状态"],               # 1
            ["戊", IDS[4], "13800138000", "江苏路", "2020-02-02", "无需隔离"],               # 2 ok
            ["己", wrong_check(IDS[5]), "13800138000", "江苏路", "2020-02-02", "无需隔离"],  # 3 check character
        ]),
    ])
    results = {Path(r.file).name: r for r in Ingestor(make_engine(db_url), log=lambda m: None).ingest([folder])}
    r = results["返岗登记.xlsx"]
    assert r.status == "loaded", r.error
    assert (r.rows, r.inserted, r.rejected, r.warnings) == (6, 3, 3, 2), r
    with Session(make_engine(db_url)) as s:
        assert s.scalars(select(ImportBatch.warnings).where(ImportBatch.id == r.batch_id)).one() == 2
    return db_url, folder


def test_rejected_rows_keep_file_sheet_row_field_and_reason(rejected_world: tuple[str, Path]) -> None:
    db_url, _ = rejected_world
    with Session(make_engine(db_url)) as s:
        rows = s.execute(select(ImportBatch.file_name, Reject.sheet, Reject.row_number, Reject.field, Reject.code,
                                Reject.reason).join(ImportBatch, ImportBatch.id == Reject.batch_id)).all()
        people = s.scalar(select(func.count()).select_from(ReturningStaff))
        severity = dict(s.execute(select(Reject.field, Reject.severity).where(Reject.row_number == 6)).all())
        ding = s.execute(select(ReturningStaff.name, ReturningStaff.phone, ReturningStaff.return_date, ReturningStaff.quarantine_status)
                         .where(ReturningStaff.row_number == 6)).one()
    assert people == 3
    assert severity == {"phone": "warning", "return_date": "warning"}
    assert tuple(ding) == ("丁", None, None, "居家隔离"), "the row loads, its bad optional values left empty"
    where = {(f, sh, r, fld) for f, sh, r, fld, _, _ in rows}
    assert where == {
        ("返岗登记.xlsx", "第一批", 4, "id_number"),
        ("返岗登记.xlsx", "第一批", 5, "street"),
        ("返岗登记.xlsx", "第一批", 6, "phone"),
        ("返岗登记.xlsx", "第一批", 6, "return_date"),
        ("返岗登记.xlsx", "第二批", 3, "id_number"),
    }, where
    reasons = {(sh, r, fld): reason for _, sh, r, fld, _, reason in rows}
    assert "无法恢复" in reasons[("第一批", 4, "id_number")]
    assert re.search("校验", reasons[("第二批", 3, "id_number")])
    assert "幸福路" in reasons[("第一批", 5, "street")], "the reason shows the value that could not be resolved"
    assert reasons[("第一批", 6, "phone")].endswith(WARNING_NOTE) and "已留空" in WARNING_NOTE and "已导入" in WARNING_NOTE
    assert not reasons[("第一批", 4, "id_number")].endswith(WARNING_NOTE)
    for reason in reasons.values():
        assert reason and re.search(r"[\u4e00-\u9fff]", reason) and not reason.isascii()


def test_rejects_command_lists_them(rejected_world: tuple[str, Path], tmp_path: Path) -> None:
    db_url, _ = rejected_world
    proc = onenet("--db", db_url, "rejects")
    assert proc.returncode == 0, proc.stderr
    for needle in ("返岗登记.xlsx", "第一批", "第二批"):
        assert needle in proc.stdout, proc.stdout
    out = tmp_path / "rejects.xlsx"
    proc = onenet("--db", db_url, "rejects", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = list(openpyxl.load_workbook(out).worksheets[0].iter_rows(values_only=True))
    body = [r for r in rows if any(isinstance(v, str) and v.endswith(".xlsx") for v in r)]
    assert len(body) == 5, rows
    for r in body:
        for v in r:
            assert not (isinstance(v, str) and re.search(r"\d{17}[\dXx]", v)), f"a raw ID in the rejects export: {r}"


def test_registry_types_that_are_legal_forms_count_as_enterprises(tmp_path: Path) -> None:
    """Reading: 企业名录 exported from the market regulator carry the legal form in 类型 (有限责任公司, 股份有限公司 …).
    Those are 企业 (docs/sources.md#value-vocabularies: kinds 企业 / 沿街商铺 / 个体工商户); rejecting them would drop real enterprises from the
    denominator of the reopening rate."""
    codes = [make_uscc(f"91310105MA1KD000{i}") for i in range(1, 5)]
    path = write_csv(tmp_path / "名录.csv", [
        ["企业名称", "统一社会信用代码", "企业类型"],
        ["上海一有限公司", codes[0], "有限责任公司（自然人投资或控股）"],
        ["上海二股份有限公司", codes[1], "股份有限公司（非上市）"],
        ["上海三有限公司", codes[2], "有限责任公司(外商投资企业法人独资)"],
        ["四号小店", "", "个体工商户"],
    ])
    typed, errors = normalise_table(read_tables(path)[0], None)
    assert errors.empty, errors.to_dict("records")
    assert typed["kind"].tolist() == ["企业", "企业", "企业", "个体工商户"]
