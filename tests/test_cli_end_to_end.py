"""End-to-end: real messy files in, `onenet ingest` / `summary` / `rejects` run as a user runs them.

These tests are an independent oracle: the files are built with openpyxl / xlwt / csv
(tests/fixtures/messy.py), `onenet ingest` and `onenet rejects` run in a subprocess, `onenet summary
--json` (which only reads) runs its command line in this process (a Python start costs more than the
query; the subprocess path of summary is tested in tests/etl/democity and tests/dashboard/test_browser.py),
and every expected figure is worked out by hand from docs/figures.md in the comments below -- nothing is
computed with product code.

Readings of docs/ these tests rely on (where it is not explicit):
- `enterprises`, `reopened`, `reported`, `staff_total`, `staff_returned` and `buildings_missing` are
  about enterprises proper; 沿街商铺 are counted only in `shops` / `shops_open` ("Shops are reported
  beside it as their own rate, not mixed in").  个体工商户 is not a shop: it counts as an enterprise.
- `staff_total` / `staff_returned` sum the merged (field by field, empty never erases) latest
  report by D of each enterprise that has both figures; 0 is a figure.
- `buildings` counts the registered buildings of the unit; a building without enterprises is
  never missing.
- `rows` counts data rows: header, title, blank and 合计 rows are not rows;
  inserted + updated + unchanged + rejected == rows.
- A 合计 totals row is recognised wherever its marker sits (often in the 序号 column) and is
  skipped, not rejected: docs/sources.md#totals-and-blank-rows skips totals rows.
- Reject row numbers are the row numbers a user sees in Excel (1-based, header and title rows
  included); for CSV the line number.
- A returning-staff row's enterprise is found by name in the city even when the row names another
  street; the person then counts in the enterprise's street (docs/figures.md#returning-staff-and-quarantine "counted in the street of
  their enterprise (else the street their row names)").
- Merged cells in the body of a sheet (docs/sources.md#title-rows-and-merged-headers covers them too) apply to every row
  of the merged range, as a street official reading the sheet would take them.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import xlrd

from etl.cli import main as cli_main
from tests.conftest import ENGINES, empty_database
from tests.fixtures import messy
from tests.fixtures.messy import CFX, HNL, JC_BS, JC_MH, JSL, LJZ, NJD, NJXL, OYL, SPL, TPL, WT, XHL, ZRZ
from tests.fixtures.cli import onenet

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
D1, D2 = "2020-02-10", "2020-02-12"
FIGURES = ("enterprises", "reopened", "reopening_rate", "shops", "shops_open", "staff_total",
           "staff_returned", "reported", "buildings", "buildings_missing", "returning_staff",
           "in_quarantine")


# --------------------------------------------------------------------------- running the product

def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return onenet("--db", db_url, *args)


def ingest(db_url: str, *paths: Path, expect_rc: int | None = 0) -> dict[str, dict[str, Any]]:
    proc = run_cli(db_url, "ingest", *map(str, paths), "--json")
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(
            f"ingest --json did not print one JSON document (rc={proc.returncode}): {exc}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        ) from None
    if expect_rc is not None:
        assert proc.returncode == expect_rc, (
            f"ingest exit code {proc.returncode}, expected {expect_rc}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )
    files = {Path(f["file"]).name: f for f in doc["files"]}
    assert len(files) == len(doc["files"]), f"a file is listed twice: {doc['files']}"
    return files


def summary(db_url: str, level: str, day: str) -> dict[str, dict[str, Any]]:
    """`onenet --db URL summary --level L --date D --json`, its command line run in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli_main(["--db", db_url, "summary", "--level", level, "--date", day, "--json"])
    gc.collect()  # the command's engine, and its connection, go now
    assert rc == 0, f"summary failed rc={rc}\n{out.getvalue()[-2000:]}"
    units = json.loads(out.getvalue())
    assert isinstance(units, list)
    by_code = {u["code"]: u for u in units}
    assert len(by_code) == len(units), f"a unit is listed twice: {units}"
    for u in units:
        assert u["level"] == level, u
        missing = [k for k in ("level", "code", "name", *FIGURES) if k not in u]
        assert not missing, f"summary unit {u.get('code')} lacks keys {missing}"
    return by_code


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unit(name: str, ent: int, reopened: int, rate: float | None, shops: int, shops_open: int,
         staff_total: int, staff_returned: int, reported: int, buildings: int, missing: int,
         returning: int, quarantine: int) -> dict[str, Any]:
    return {
        "name": name, "enterprises": ent, "reopened": reopened, "reopening_rate": rate, "shops": shops,
        "shops_open": shops_open, "staff_total": staff_total, "staff_returned": staff_returned,
        "reported": reported, "buildings": buildings, "buildings_missing": missing,
        "returning_staff": returning, "in_quarantine": quarantine,
    }


def assert_units(got: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]], label: str,
                 exact_set: bool = False) -> None:
    """Every expected unit with every figure; other units (e.g. the 14 districts without data, or
    streets of the hierarchy no file of the test touches) must be empty: 0 enterprises, a null rate."""
    problems: list[str] = []
    for code, exp in expected.items():
        if code not in got:
            problems.append(f"{code} {exp['name']}: missing from the summary")
            continue
        g = got[code]
        for key, want in exp.items():
            have = g.get(key)
            if want is None or have is None or isinstance(want, str):
                ok = have == want
            elif isinstance(want, float):
                ok = isinstance(have, (int, float)) and have == pytest.approx(want, abs=1e-9)
            else:
                ok = have == want and not isinstance(have, bool)
            if not ok:
                problems.append(f"{code} {exp['name']} {key}: expected {want!r}, got {have!r}")
    others = set(got) - set(expected)
    if exact_set and others:
        problems.append(f"unexpected units {sorted(others)}")
    for code in others:
        g = got[code]
        if g.get("enterprises") or g.get("reopening_rate") is not None:
            problems.append(f"{code} {g.get('name')}: expected an empty unit, got {g}")
    assert not problems, f"{label}:\n  " + "\n  ".join(problems)


def assert_file(files: dict[str, dict[str, Any]], path: Path, kind: str, rows: int, rejected: int,
                inserted: int | None = None, status: str = "loaded") -> None:
    assert path.name in files, f"{path.name} missing from ingest output: {sorted(files)}"
    f = files[path.name]
    problems = []
    for key, want in (("kind", kind), ("rows", rows), ("rejected", rejected), ("status", status),
                      ("sha256", sha256(path))):
        if f.get(key) != want:
            problems.append(f"{key}: expected {want!r}, got {f.get(key)!r}")
    if inserted is not None and f.get("inserted") != inserted:
        problems.append(f"inserted: expected {inserted}, got {f.get('inserted')!r}")
    accounted = sum(f.get(k) or 0 for k in ("inserted", "updated", "unchanged", "rejected"))
    if accounted != rows:
        problems.append(f"inserted+updated+unchanged+rejected = {accounted}, expected rows = {rows}")
    assert not problems, f"{path.name}: " + "; ".join(problems) + f"\n  whole entry: {f}"


# --------------------------------------------------------------------------- world 1, by hand
#
# Registries (world 1):
#   streets  江苏路街道 310105002 (JSL), 新华路街道 310105004 (XHL) under 长宁区 310105;
#            陆家嘴街道 310115005 (LJZ) under 浦东新区 310115
#   buildings  JSL: 华鑫大厦, 江苏路商务楼 (no enterprise at all) | XHL: 新华科技楼 | LJZ: 陆家嘴金融中心
#   enterprises  JSL: E1 甲 (华鑫), E2 乙 (华鑫), E3 丙咨询工作室 (个体工商户, no USCC, 华鑫);
#                     shops S1 丁记面馆, S2 戊便利店
#                XHL: E4 己 (新华科技楼), E5 庚 (新华科技楼, district column empty)
#                LJZ: E6 辛, E7 壬 (陆家嘴金融中心); shop S3 癸咖啡店
#                E8 子星 (LJZ, 陆家嘴金融中心) is first seen in a report of 2020-02-11 14:00.
#
# Reopening reports (submitted_at):
#   02-10 09:30 E1 是 actual 2020/2/10, total 50, returned 10
#   02-10 11:20 E2 未, total 20, returned 0
#   02-10 08:00 S1 √ actual 2020年2月10日
#   02-10 10:00 E4 Y actual serial 43871 (= 2020-02-10), total 30, returned 30
#   02-10 16:45 E6 1 actual 2020-02-11 (after 02-10!), total 100, returned 40
#   02-11 09:00 E1 是否复工 EMPTY, actual empty, total EMPTY, returned 45  -> merged: 是, 02-10, 50, 45
#   02-11 09:15 E2 已 actual 2月11日 (= 2020-02-11), total 20, returned 15
#   02-11 10:30 E3 TRUE (boolean cell) actual 20200211, total 5, returned 5
#   02-11 12:00 E4 否, total 30, returned 12           -> latest says not reopened
#   02-11 09:45 E5 ×, total 10, returned 2
#   02-11 08:30 S2 N
#   02-11 11:00 E7 "0", total 8, returned 0
#   02-11 15:00 S3 FALSE
#   02-11 14:00 E8 是 actual 2020-02-11 (datetime cell), total 12, returned 6
#   (The 02-11 file sorts first by name: if load order instead of submitted_at decided, E1's empty
#   是否复工 of 02-11 would be "earlier" and the 02-10 是 "later"; the figures below hold either way
#   only if merging goes by submitted_at.)
#
# Returning staff (valid people; return date; quarantine end; counted street):
#   P1 张伟 (18-digit in the CSV, 15-digit in the xlsx: one person) 02-08, 居家隔离 -> end 02-08+14 = 02-22, JSL (E1)
#   P2 李娜 (full-width, \u3000-padded ID) 02-11, 无需隔离, JSL (E2)
#   P5 陈静 02-13, 集中隔离 end 2020.2.27, XHL (E4)
#   P6 刘洋 02-09 (written 2月9日), 已解除 (no end), no enterprise -> street of the row: LJZ
#   P8 周敏 (ID ending in lower-case x) 02-09 (Excel serial 43870), 居家隔离 -> end 02-23, LJZ (E6)
#   P9 吴刚 01-27, 居家隔离 -> end 01-27+14 = 02-10, XHL (E5)
#   rejected: 王芳 "3.10105E+17", 赵磊 wrong check character, 孙强 numeric ID cell.
#
# ---- D1 = 2020-02-10 (reports submitted by 2020-02-10 23:59:59: the five of 02-10)
# JSL: enterprises E1,E2,E3 = 3; reopened: E1 (是, 02-10 <= D1) = 1 -> 1/3
#      shops S1,S2 = 2; open: S1 (√, 02-10) = 1
#      staff: E1 50/10 + E2 20/0 = 70/10; reported E1,E2 = 2
#      buildings 华鑫大厦, 江苏路商务楼 = 2; missing: 华鑫大厦 (E3 silent) = 1
#      returning: P1 (02-08) = 1 (P2 returns 02-11); in quarantine: P1 (end 02-22 >= D1) = 1
# XHL: enterprises E4,E5 = 2; reopened E4 (Y, 02-10) = 1 -> 1/2; shops 0
#      staff 30/30; reported 1; buildings 1, missing 1 (E5 silent)
#      returning: P9 (01-27) = 1 (P5 returns 02-13); in quarantine: P9 (end 02-10 >= 02-10) = 1
# LJZ: enterprises E6,E7 = 2 (E8 not yet); reopened 0 (E6's actual date 02-11 is after D1) -> 0/2 = 0.0
#      shops S3 = 1, open 0; staff 100/40; reported 1; buildings 1, missing 1 (E7 silent)
#      returning P6, P8 = 2; in quarantine P8 (end 02-23) = 1 (P6 已解除)
# 长宁区 = JSL + XHL: 5, 2, 2/5, 2, 1, 100, 40, 3, 3, 2, 2, 2
# 浦东新区 = LJZ
# 上海市: 7, 2, 2/7, 3, 1, 200, 80, 4, 4, 3, 4, 3
#
# ---- D2 = 2020-02-12 (all reports)
# JSL: E1 reopened (02-11 row's empty 是否复工 does not erase 是), E2 已 (02-11 <= D2), E3 TRUE (02-11)
#      -> 3/3 = 1.0; shops 2, open: S1 = 1 (S2 N)
#      staff: E1 50/45 (total carried from 02-10) + E2 20/15 + E3 5/5 = 75/65; reported 3
#      buildings 2, missing 0; returning P1, P2 = 2; in quarantine P1 = 1 (P2 无需隔离)
# XHL: E4 否 (latest), E5 × -> 0/2 = 0.0; staff 30/12 + 10/2 = 40/14; reported 2; buildings 1, missing 0
#      returning P9 = 1 (P5 02-13 > D2); in quarantine: P9 end 02-10 < D2 -> 0
# LJZ: enterprises E6,E7,E8 = 3; reopened E6 (02-11 <= D2), E8 = 2 -> 2/3; shops 1, open 0 (S3 FALSE)
#      staff 100/40 + 8/0 + 12/6 = 120/46; reported 3; buildings 1, missing 0
#      returning P6, P8 = 2; in quarantine P8 = 1
# 长宁区: 5, 3, 3/5, 2, 1, 115, 79, 5, 3, 0, 3, 1
# 上海市: 8, 5, 5/8, 3, 1, 235, 125, 8, 4, 0, 5, 2

WORLD1_STREETS = {
    D1: {
        JSL: unit("江苏路街道", 3, 1, 1 / 3, 2, 1, 70, 10, 2, 2, 1, 1, 1),
        XHL: unit("新华路街道", 2, 1, 0.5, 0, 0, 30, 30, 1, 1, 1, 1, 1),
        LJZ: unit("陆家嘴街道", 2, 0, 0.0, 1, 0, 100, 40, 1, 1, 1, 2, 1),
    },
    D2: {
        JSL: unit("江苏路街道", 3, 3, 1.0, 2, 1, 75, 65, 3, 2, 0, 2, 1),
        XHL: unit("新华路街道", 2, 0, 0.0, 0, 0, 40, 14, 2, 1, 0, 1, 0),
        LJZ: unit("陆家嘴街道", 3, 2, 2 / 3, 1, 0, 120, 46, 3, 1, 0, 2, 1),
    },
}
WORLD1_DISTRICTS = {
    D1: {
        "310105": unit("长宁区", 5, 2, 2 / 5, 2, 1, 100, 40, 3, 3, 2, 2, 2),
        "310115": unit("浦东新区", 2, 0, 0.0, 1, 0, 100, 40, 1, 1, 1, 2, 1),
    },
    D2: {
        "310105": unit("长宁区", 5, 3, 3 / 5, 2, 1, 115, 79, 5, 3, 0, 3, 1),
        "310115": unit("浦东新区", 3, 2, 2 / 3, 1, 0, 120, 46, 3, 1, 0, 2, 1),
    },
}
WORLD1_CITY = {
    D1: {"310000": unit("上海市", 7, 2, 2 / 7, 3, 1, 200, 80, 4, 4, 3, 4, 3)},
    D2: {"310000": unit("上海市", 8, 5, 5 / 8, 3, 1, 235, 125, 8, 4, 0, 5, 2)},
}


def _check_world1_ingest(files: dict[str, dict[str, Any]], p: dict[str, Path]) -> None:
    assert set(files) == {path.name for path in p.values()}, f"ingest listed {sorted(files)}"
    checks = [
        (p["divisions"], "division", 3, 0, 3),
        (p["buildings"], "building", 4, 0, 4),
        (p["enterprises"], "enterprise", 10, 0, 10),
        # reports: every row is a new report; 合计, blank, title rows and the hidden notes sheet are not rows
        (p["report_0210"], "reopening_report", 5, 0, 5),
        (p["report_0211"], "reopening_report", 9, 0, 9),
        # staff CSV: 7 people rows, rejected 王芳 (3.10105E+17) and 赵磊 (check character)
        (p["staff_csv"], "returning_staff", 7, 2, None),
        # staff xlsx: 张伟 (15-digit, same person as the CSV's), 孙强 (numeric cell: rejected), 周敏
        (p["staff_xlsx"], "returning_staff", 3, 1, None),
    ]
    problems = []
    for path, kind, rows, rejected, inserted in checks:
        try:
            assert_file(files, path, kind, rows=rows, rejected=rejected, inserted=inserted)
        except AssertionError as exc:
            problems.append(str(exc).split("\nassert")[0])
    assert not problems, "\n".join(problems)


def test_world1_new_building_registry_version_updates(db_url: str, tmp_path: Path) -> None:
    """A second building registry: 华鑫大厦's owner contact changes (updated), 江苏路新楼 is new
    (inserted, no enterprises: never missing).  JSL then has 3 buildings; nothing else moves."""
    messy.build_world1(tmp_path / "inbox")
    ingest(db_url, tmp_path / "inbox")
    path = messy.build_world1_building_update(tmp_path / "update")
    files = ingest(db_url, path)
    f = files[path.name]
    got = {k: f.get(k) for k in ("kind", "rows", "inserted", "updated", "unchanged", "rejected", "status")}
    assert got == {"kind": "building", "rows": 2, "inserted": 1, "updated": 1, "unchanged": 0,
                   "rejected": 0, "status": "loaded"}, f
    expected = {code: dict(u) for code, u in WORLD1_STREETS[D2].items()}
    expected[JSL]["buildings"] = 3
    assert_units(summary(db_url, "street", D2), expected, f"street summary on {D2}")


@dataclass
class World1:
    db_url: str
    paths: dict[str, Path]
    files: dict[str, dict[str, Any]]


@pytest.fixture(scope="session", params=ENGINES)
def world1(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World1]:
    """World 1 loaded once per engine, for the tests that only read what the load left."""
    folder = tmp_path_factory.mktemp("world1")
    with empty_database(request.param, folder) as db_url:
        with pytest.MonkeyPatch.context() as env:  # the session's fixtures come before the tests' own secret
            env.setenv("ONENET_SECRET", "test-secret-not-for-production-use")
            env.setenv("ONENET_DATA_DIR", str(folder))
            env.delenv("ONENET_DB", raising=False)
            paths = messy.build_world1(folder / "inbox")
            files = ingest(db_url, folder / "inbox")
        yield World1(db_url, paths, files)


def test_world1_raw_ids_are_never_stored(world1: World1) -> None:
    """docs/rules.md#residents: the raw ID is never stored, only a keyed hash (HMAC) and a masked form."""
    from sqlalchemy import MetaData, create_engine, select

    ids = [messy.P1_ID, messy.P1_OLD15, messy.P2_ID, messy.P4_BAD, messy.P5_ID, messy.P6_ID,
           messy.P8_ID, messy.P9_ID]
    needles = set()
    for i in ids:
        for form in {i, i.lower(), messy.fullwidth(i)}:
            needles.update({form, hashlib.sha256(form.encode()).hexdigest(), hashlib.md5(form.encode()).hexdigest()})
    engine = create_engine(world1.db_url)
    found = []
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    text_row = " ".join(str(v) for v in row)
                    found += [(table.name, n) for n in needles if n in text_row]
    finally:
        engine.dispose()
    assert not found, f"raw (or plainly hashed) resident IDs stored: {found}"


def _world1_summaries(db_url: str) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    return {(level, day): summary(db_url, level, day)
            for day in (D1, D2) for level in ("street", "district", "city")}


def _check_world1_figures(s: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> None:
    for day in (D1, D2):
        assert_units(s[("street", day)], WORLD1_STREETS[day], f"street summary on {day}")
        assert_units(s[("district", day)], WORLD1_DISTRICTS[day], f"district summary on {day}")
        assert_units(s[("city", day)], WORLD1_CITY[day], f"city summary on {day}", exact_set=True)


def test_world1_messy_inbox_loads_in_the_right_order_and_figures_match(world1: World1) -> None:
    problems = []
    for check in (lambda: _check_world1_ingest(world1.files, world1.paths),
                  lambda: _check_world1_figures(_world1_summaries(world1.db_url))):
        try:
            check()
        except AssertionError as exc:  # report the per-file counts and the figures together
            problems.append(str(exc))
    assert not problems, "\n\n".join(problems)


def test_world1_reingest_is_unchanged(db_url: str, tmp_path: Path) -> None:
    p = messy.build_world1(tmp_path / "inbox")
    ingest(db_url, tmp_path / "inbox")
    views = [("street", D1), ("street", D2), ("city", D2)]
    before = {v: summary(db_url, *v) for v in views}
    again = ingest(db_url, tmp_path / "inbox", expect_rc=0)
    assert set(again) == {path.name for path in p.values()}
    for name, f in again.items():
        assert f["status"] == "unchanged", f"{name}: re-ingest status {f['status']!r}, expected 'unchanged'"
        assert not f.get("inserted") and not f.get("updated"), f"{name}: re-ingest changed rows: {f}"
        assert f.get("sha256") == sha256(tmp_path / "inbox" / name)
    # the same content under another name (an official saves the attachment twice) is the same file
    copy = tmp_path / "again" / "复工申报0210（副本）.xlsx"
    copy.parent.mkdir()
    copy.write_bytes(p["report_0210"].read_bytes())
    again = ingest(db_url, copy, expect_rc=0)
    assert again[copy.name]["status"] == "unchanged", f"renamed copy: {again[copy.name]}"
    after = {v: summary(db_url, *v) for v in views}
    assert after == before, "summary changed after re-loading the same files"
    assert_units(after[("street", D2)], WORLD1_STREETS[D2], f"street summary on {D2}")


# --------------------------------------------------------------------------- world 3: broken files change nothing
#
# 南京西路街道 310106012 (静安区 310106): enterprises 静一, 静二 (both registered, no buildings).
# Report: 静一 是, actual 02-10, total 10, returned 7, submitted 02-10 09:00.
# On 2020-02-12: enterprises 2, reopened 1 -> 0.5, shops 0, staff 10/7, reported 1,
#                buildings 0, missing 0, returning 0, in quarantine 0.
# Later an extra report (静二 是 02-11, 5/5) loads next to a broken file: 2, 2, 1.0, 15/12, reported 2.
# The encrypted workbook would have made 静二 reopened if it had been read.

@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return messy.write_zip_bomb_xlsx(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", expanded_gib=5)


ERROR_PATTERNS = {
    "corrupt": r"corrupt|damaged|invalid|not a (valid )?(zip|xlsx|excel|workbook)|unreadable|cannot|could not|"
               r"unable|损坏|无法|格式|不是",
    "empty": r"empty|0 bytes|zero|no data|空",
    "noheader": r"header|column|表头|列名|标题|识别",
    "encrypted": r"password|encrypt|protected|密码|加密",
    "bomb": r"zip|bomb|compress|expand|too (large|big)|size|ratio|limit|解压|过大|超过|压缩",
}


def test_unreadable_files_fail_and_change_nothing(db_url: str, tmp_path: Path, zip_bomb: Path) -> None:
    good = messy.build_world3_good(tmp_path / "good")
    files = ingest(db_url, tmp_path / "good")
    assert_file(files, good["divisions"], "division", rows=1, rejected=0, inserted=1)
    assert_file(files, good["enterprises"], "enterprise", rows=2, rejected=0, inserted=2)
    assert_file(files, good["report"], "reopening_report", rows=1, rejected=0, inserted=1)
    expected = {NJXL: unit("南京西路街道", 2, 1, 0.5, 0, 0, 10, 7, 1, 0, 0, 0, 0)}
    before_street = summary(db_url, "street", D2)
    before_district = summary(db_url, "district", D2)
    assert_units(before_street, expected, "street summary before the broken files")

    bad = messy.build_world3_bad(tmp_path / "bad", zip_bomb)
    files = ingest(db_url, tmp_path / "bad", expect_rc=1)
    assert set(files) == {path.name for path in bad.values()}, f"ingest listed {sorted(files)}"
    problems = []
    for key, path in bad.items():
        f = files[path.name]
        if f.get("status") != "failed":
            problems.append(f"{path.name}: status {f.get('status')!r}, expected 'failed' ({f})")
            continue
        error = f.get("error") or ""
        if not re.search(ERROR_PATTERNS[key], error, re.IGNORECASE):
            problems.append(f"{path.name}: error {error!r} does not name the problem ({ERROR_PATTERNS[key]})")
    assert not problems, "\n".join(problems)

    assert summary(db_url, "street", D2) == before_street
    assert summary(db_url, "district", D2) == before_district

    # a file that failed was never loaded: trying it again fails again, it is not "unchanged"
    again = ingest(db_url, bad["encrypted"], bad["corrupt"], expect_rc=1)
    assert [again[p.name]["status"] for p in (bad["encrypted"], bad["corrupt"])] == ["failed", "failed"], again

    # a good file next to a broken one still loads (exit 1 all the same): 静二 reopened 02-11, 5/5
    extra = messy.build_world3_extra(tmp_path / "extra")
    files = ingest(db_url, extra, bad["corrupt"], expect_rc=1)
    assert files[bad["corrupt"].name]["status"] == "failed"
    assert_file(files, extra, "reopening_report", rows=1, rejected=0, inserted=1)
    assert_units(summary(db_url, "street", D2), {
        NJXL: unit("南京西路街道", 2, 2, 1.0, 0, 0, 15, 12, 2, 0, 0, 0, 0),
    }, "street summary after the extra report")


# --------------------------------------------------------------------------- world 4: `onenet rejects --out`

HEADER_SPELLINGS = {
    "file": ("file", "文件", "文件名", "file_name", "来源文件"),
    "sheet": ("sheet", "工作表", "sheet名", "表单", "页签"),
    "row": ("row", "row_number", "行", "行号", "row number"),
    "field": ("field", "字段", "列", "字段名"),
    "reason": ("reason", "原因", "拒绝原因", "说明"),
}
ID_FIELD = {"id_number", "身份证号", "身份证号码", "证件号码"}


def read_rejects_workbook(path: Path) -> list[dict[str, Any]]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        for i, row in enumerate(rows[:10]):
            cols: dict[str, int] = {}
            for j, cell in enumerate(row):
                key = str(cell or "").strip().lower()
                for name, spellings in HEADER_SPELLINGS.items():
                    if name not in cols and key in spellings:
                        cols[name] = j
            if len(cols) == len(HEADER_SPELLINGS):
                out = []
                for r in rows[i + 1:]:
                    if all(v in (None, "") for v in r):
                        continue
                    out.append({name: r[j] for name, j in cols.items()})
                return out
    raise AssertionError(f"no sheet of {path.name} has the columns file, sheet, row, field, reason: "
                         f"{[list(ws.iter_rows(values_only=True))[:3] for ws in wb.worksheets]}")


def rejects_workbook(db_url: str, out: Path, *extra: str) -> list[dict[str, Any]]:
    proc = run_cli(db_url, "rejects", *extra, "--out", str(out))
    assert proc.returncode == 0, f"rejects failed rc={proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert out.exists(), f"rejects --out did not write {out}"
    return read_rejects_workbook(out)


def _find(rejects: list[dict[str, Any]], file_name: str, row: int) -> dict[str, Any]:
    hits = [r for r in rejects if str(r["file"] or "").endswith(file_name) and _as_int(r["row"]) == row]
    assert len(hits) == 1, f"expected one reject for {file_name} row {row}, found {hits}\nall: {rejects}"
    return hits[0]


def _as_int(v: Any) -> int | None:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def test_rejects_workbook_lists_each_rejected_row(db_url: str, tmp_path: Path) -> None:
    w = messy.build_world4(tmp_path / "in")
    files = ingest(db_url, tmp_path / "in")
    # CSV: 甲一 ok (line 2); 乙二 3.10105E+17 (line 3); 丙三 wrong check character (line 4)
    assert_file(files, w["staff_csv"], "returning_staff", rows=3, rejected=2)
    # xlsx (title row 1, header row 2): 丁四 ok (row 3); 戊五 ID typed as a number (row 4) -- its
    # 18 digits even pass MOD 11-2, but a number cell has lost its digits: unrecoverable.
    assert_file(files, w["staff_xlsx"], "returning_staff", rows=2, rejected=1)

    rejects = rejects_workbook(db_url, tmp_path / "x.xlsx")
    assert len(rejects) == 3, f"expected 3 rejected rows, got {rejects}"
    batch = files[w["staff_xlsx"].name].get("batch_id")
    if batch is not None:  # `--batch ID` narrows the list to one import (the JSON names the batch)
        only = rejects_workbook(db_url, tmp_path / "batch.xlsx", "--batch", str(batch))
        assert [(_as_int(r["row"]), r["sheet"]) for r in only] == [(4, "二月")], only
    sci = _find(rejects, "返岗登记.csv", 3)
    check = _find(rejects, "返岗登记.csv", 4)
    numeric = _find(rejects, "返岗补报.xlsx", 4)
    assert numeric["sheet"] == "二月", numeric
    for r in (sci, check, numeric):
        assert str(r["field"]).strip() in ID_FIELD, f"field should name the ID column: {r}"
        assert str(r["reason"] or "").strip(), f"empty reason: {r}"
    number_reason = r"科学计数|数字|数值|number|numeric|scientific|unrecoverable|无法恢复|精度|precision|excel"
    for r in (sci, numeric):
        assert re.search(number_reason, str(r["reason"]), re.IGNORECASE), \
            f"reason should say the ID was stored as a number and is unrecoverable: {r}"
    assert re.search(r"校验|check", str(check["reason"]), re.IGNORECASE), \
        f"reason should say the check character is wrong: {check}"


# --------------------------------------------------------------------------- world 5: row-level rejects, rest loads
#
# 天平路街道 310104003, 湖南路街道 310104004 (徐汇区 310104).
# Registry: 天平一号 (天平路), 湖南二号 (湖南路街道), 幸福三号 (幸福路: no such street -> rejected, street).
# Reports: row 2 天平一号 是 02-10, 10/8, 02-10 09:00
#          row 3 湖南二号 是 2020-02-30, 6/6, 02-10 09:30 -> the optional date is left empty with a warning
#                (actual_reopen_date), the row loads (issue 18)
#          row 4 天平一号 empty 是否复工, empty total, returned 10, 02-11 09:00 -> merged 是, 10/10
# On 2020-02-12:
#   天平路: enterprises 1, reopened 1 -> 1.0, shops 0, staff 10/10, reported 1, buildings 0, rest 0
#   湖南路: enterprises 1, reopened 1 -> 1.0, staff 6/6, reported 1, rest 0
#   徐汇区: 2, 2, 1.0, 0, 0, 16, 16, 2, 0, 0, 0, 0

def test_unresolvable_street_and_impossible_date_reject_rows_not_files(db_url: str, tmp_path: Path) -> None:
    w = messy.build_world5(tmp_path / "in")
    files = ingest(db_url, tmp_path / "in")
    assert_file(files, w["divisions"], "division", rows=2, rejected=0, inserted=2)
    assert_file(files, w["enterprises"], "enterprise", rows=3, rejected=1, inserted=2)
    assert_file(files, w["report"], "reopening_report", rows=3, rejected=0, inserted=3)
    assert files[w["report"].name]["warnings"] == 1

    assert_units(summary(db_url, "street", D2), {
        TPL: unit("天平路街道", 1, 1, 1.0, 0, 0, 10, 10, 1, 0, 0, 0, 0),
        HNL: unit("湖南路街道", 1, 1, 1.0, 0, 0, 6, 6, 1, 0, 0, 0, 0),
    }, "street summary")
    assert_units(summary(db_url, "district", D2), {
        "310104": unit("徐汇区", 2, 2, 1.0, 0, 0, 16, 16, 2, 0, 0, 0, 0),
    }, "district summary")

    rejects = rejects_workbook(db_url, tmp_path / "rejects.xlsx")
    assert len(rejects) == 2, rejects
    street = _find(rejects, "企业名录.xlsx", 4)
    assert street["sheet"] == "名录" and str(street["field"]).strip() in {"street", "街道"}, street
    bad_date = _find(rejects, "复工申报.xlsx", 3)
    assert bad_date["sheet"] == "复工" and str(bad_date["field"]).strip() in {"actual_reopen_date", "实际复工日期"}, \
        bad_date
    assert "已留空" in str(bad_date["reason"]), "a warning: the value was left empty and the row loaded"


# --------------------------------------------------------------------------- world 6: a 2021 campaign
#
# 长风新村街道 310107014 (CFX), 真如镇街道 310107021 (ZRZ) in 普陀区 310107; 江川路街道 twice:
# 310112001 (闵行区) and 310113099 (宝山区).
# Registry (xlsx, header spellings with spaces):
#   CFX: F1 风一, F2 风二, shop F3 风三小吃 | ZRZ: Z1 真一, Z2 真二
#   row 7 江一: street 江川路 without district -> two streets of that name -> rejected (street), not guessed
#   row 8 江二: 江川路 + 闵行 -> 310112001
# Reports (submitted):
#   F1 是 2021-02-08, 10/5, 02-08 09:00
#   F2 是 "2月20日" -> the column's other dates are 2021 -> 2021-02-20, 4/4, 02-09 10:00
#   Z1 是 2021.2.9, 6/3, 02-09 23:59:59 (counts on 02-09)
#   F3 是 2021/2/10, 02-10 00:00:00 (does not count on 02-09)
#   江二 是 2021.2.8, 8/8, 02-08 12:00
#   Z2 是 2021-02-01, 5/5, NO submitted_at -> counts from the moment it was loaded (i.e. today)
# Staff: 郑一 (enterprise 真一 in ZRZ, row names 长风新村) returns 02-05, 无需隔离 -> counted in ZRZ
#        钱二 (no enterprise, 长风新村): file 1 submitted 02-08 10:00 says return 02-10, 居家隔离;
#        file 2, loaded later by a second `ingest`, submitted 02-05 09:00 says 02-08.
#        By submitted_at the 02-10 return wins -> end 02-10+14 = 02-24.
# ---- D = 2021-02-09
#   CFX: enterprises 2, reopened F1 = 1 (F2's 2021-02-20 > D) -> 0.5; shops 1, open 0 (F3 reported 02-10)
#        staff 10+4 / 5+4 = 14/9; reported 2; buildings 0/0; returning 0 (钱二 returns 02-10), quarantine 0
#   ZRZ: enterprises 2, reopened Z1 = 1 -> 0.5 (Z2's report counts only from today); staff 6/3; reported 1
#        returning 郑一 = 1, quarantine 0
#   310112001: 1, 1, 1.0, staff 8/8, reported 1 | 310113099: 0 enterprises, rate null
#   普陀区: 4, 2, 0.5, shops 1, open 0, staff 20/12, reported 3, returning 1, quarantine 0
#   闵行区 = 310112001; 宝山区 empty
# ---- D = tomorrow (after the load moment)
#   CFX: 2, 2 (2021-02-20 <= D), 1.0; shops 1, open 1; 14/9; reported 2; returning 钱二 = 1;
#        quarantine 0 (end 2021-02-24 < D)
#   ZRZ: 2, 2, 1.0; staff 6+5 / 3+5 = 11/8; reported 2; returning 1; quarantine 0
#   江川路 streets as on 2021-02-09
# ---- then a new registry version: F1 industry changed (updated), F2 identical (unchanged), Z1 with
#   an empty 行业 (never erases: unchanged), Z3 new (inserted) -> rows 4, inserted 1, updated 1,
#   unchanged 2.  On 2021-02-09 ZRZ: enterprises 3, reopened 1 -> 1/3, reported 1.

def _local_tomorrow() -> str:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)).isoformat()


STAFF_KEYS = ("returning_staff", "in_quarantine")


def _pick(units: dict[str, dict[str, Any]], staff: bool) -> dict[str, dict[str, Any]]:
    """Only the staff figures (staff=True) or everything but them, so one bug cannot hide another."""
    return {code: {k: v for k, v in u.items() if k == "name" or (k in STAFF_KEYS) == staff}
            for code, u in units.items()}


W6_D = "2021-02-09"
W6_STREETS_D = {
    CFX: unit("长风新村街道", 2, 1, 0.5, 1, 0, 14, 9, 2, 0, 0, 0, 0),
    ZRZ: unit("真如镇街道", 2, 1, 0.5, 0, 0, 6, 3, 1, 0, 0, 1, 0),
    JC_MH: unit("江川路街道", 1, 1, 1.0, 0, 0, 8, 8, 1, 0, 0, 0, 0),
    JC_BS: unit("江川路街道", 0, 0, None, 0, 0, 0, 0, 0, 0, 0, 0, 0),
}
W6_DISTRICT_D = {
    "310107": unit("普陀区", 4, 2, 0.5, 1, 0, 20, 12, 3, 0, 0, 1, 0),
    "310112": unit("闵行区", 1, 1, 1.0, 0, 0, 8, 8, 1, 0, 0, 0, 0),
    "310113": unit("宝山区", 0, 0, None, 0, 0, 0, 0, 0, 0, 0, 0, 0),
}
W6_STREETS_TOMORROW = {
    CFX: unit("长风新村街道", 2, 2, 1.0, 1, 1, 14, 9, 2, 0, 0, 1, 0),
    ZRZ: unit("真如镇街道", 2, 2, 1.0, 0, 0, 11, 8, 2, 0, 0, 1, 0),
    JC_MH: W6_STREETS_D[JC_MH],
    JC_BS: W6_STREETS_D[JC_BS],
}


def _ingest_world6(db_url: str, tmp_path: Path) -> dict[str, Path]:
    w = messy.build_world6(tmp_path)
    files = ingest(db_url, tmp_path / "main")
    assert_file(files, w["divisions"], "division", rows=4, rejected=0, inserted=4)
    assert_file(files, w["enterprises"], "enterprise", rows=7, rejected=1, inserted=6)
    assert_file(files, w["report"], "reopening_report", rows=6, rejected=0, inserted=6)
    assert_file(files, w["staff_a"], "returning_staff", rows=2, rejected=0, inserted=2)
    return w


def test_world6_year_inference_submission_boundaries_and_ambiguous_street(db_url: str, tmp_path: Path) -> None:
    _ingest_world6(db_url, tmp_path)
    assert_units(summary(db_url, "street", W6_D), _pick(W6_STREETS_D, staff=False),
                 f"street summary on {W6_D}")
    assert_units(summary(db_url, "district", W6_D), _pick(W6_DISTRICT_D, staff=False),
                 f"district summary on {W6_D}")
    tomorrow = _local_tomorrow()
    assert_units(summary(db_url, "street", tomorrow), _pick(W6_STREETS_TOMORROW, staff=False),
                 f"street summary on {tomorrow}")
    rejects = rejects_workbook(db_url, tmp_path / "rejects.xlsx")
    assert len(rejects) == 1, rejects
    ambiguous = _find(rejects, "企业名录_普陀.xlsx", 7)
    assert str(ambiguous["field"]).strip() in {"street", "街道", "所属街道"}, ambiguous


def test_world6_staff_merge_by_submission_time_and_counted_in_enterprise_street(db_url: str, tmp_path: Path) -> None:
    w = _ingest_world6(db_url, tmp_path)
    files = ingest(db_url, tmp_path / "late")
    assert_file(files, w["staff_b"], "returning_staff", rows=1, rejected=0)
    assert_units(summary(db_url, "street", W6_D), _pick(W6_STREETS_D, staff=True),
                 f"street summary on {W6_D}")
    assert_units(summary(db_url, "district", W6_D), _pick(W6_DISTRICT_D, staff=True),
                 f"district summary on {W6_D}")
    tomorrow = _local_tomorrow()
    assert_units(summary(db_url, "street", tomorrow), _pick(W6_STREETS_TOMORROW, staff=True),
                 f"street summary on {tomorrow}")


def test_world6_new_registry_version_updates_field_by_field(db_url: str, tmp_path: Path) -> None:
    w = _ingest_world6(db_url, tmp_path)
    files = ingest(db_url, tmp_path / "update")
    f = files[w["enterprises_v2"].name]
    got = {k: f.get(k) for k in ("kind", "rows", "inserted", "updated", "unchanged", "rejected", "status")}
    assert got == {"kind": "enterprise", "rows": 4, "inserted": 1, "updated": 1, "unchanged": 2,
                   "rejected": 0, "status": "loaded"}, f
    # 真三 joins 真如镇: enterprises 3, reopened 1 (真一) -> 1/3, reported 1
    assert_units(summary(db_url, "street", W6_D), _pick({
        ZRZ: unit("真如镇街道", 3, 1, 1 / 3, 0, 0, 6, 3, 1, 0, 0, 1, 0),
        CFX: W6_STREETS_D[CFX],
        JC_MH: W6_STREETS_D[JC_MH],
        JC_BS: W6_STREETS_D[JC_BS],
    }, staff=False), f"street summary on {W6_D} after the registry update")


# --------------------------------------------------------------------------- world 7: merged data cells
#
# docs/sources.md#title-rows-and-merged-headers: merged cells count in the body too, which street lists
# use all the time (区 merged over every row, 街道 over each street's enterprises).  Read as a street
# official would: the merged value applies to every row of the range.
# 长风新村: 风一, 风二, shop 风三小吃; 真如镇: 真一, 真二 -> 5 rows, none rejected.
# On 2020-02-12 (no reports): 长风新村 enterprises 2, shops 1; 真如镇 enterprises 2; rates 0.0.

def test_merged_body_cells_apply_to_every_row_of_the_range(db_url: str, tmp_path: Path) -> None:
    w = messy.build_world7(tmp_path / "in")
    files = ingest(db_url, tmp_path / "in")
    assert_file(files, w["divisions"], "division", rows=2, rejected=0, inserted=2)
    assert_file(files, w["enterprises"], "enterprise", rows=5, rejected=0, inserted=5)
    assert_units(summary(db_url, "street", D2), {
        CFX: unit("长风新村街道", 2, 0, 0.0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
        ZRZ: unit("真如镇街道", 2, 0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    }, "street summary")


# --------------------------------------------------------------------------- world 8: legacy .xls, normalised identity
#
# 南京东路街道 310101002 (NJD), 外滩街道 310101013 (WT), 黄浦区 310101.
# Registry (GBK CSV with a title line): 黄一 (UH1) listed twice -> one enterprise; 戊（餐饮） without
#   USCC; 外一 (UW1), 外二 (UW2) in 外滩.  5 data rows.
# Report (.xls, date and datetime cells):
#   黄一 with its USCC in full-width characters: 是, 2020-02-10, 10/6, 02-10 09:00
#   "上海戊(餐饮)管理有限公司\xa0" (half-width brackets, NBSP) in "\xa0南京东路街道": the registry's
#     戊（餐饮）by normalised name within its street: 已, 2020-02-11, 4/2, 02-11 09:00
#   外一 否, 20/1, 02-11 16:00
#   外二 是, 2020-02-11, total EMPTY (never given), returned 3, submitted as serial 43872.41667 (02-11 10:00)
#     -> not in the staff figures
#     ("staff returned ÷ staff total, over enterprises that reported both")
# On 2020-02-10: NJD 2 enterprises, reopened 黄一 = 1 -> 0.5, staff 10/6, reported 1
#                WT 2, 0 -> 0.0, staff 0/0, reported 0
# On 2020-02-12: NJD 2, 2 -> 1.0, staff 14/8, reported 2 | WT 2, 1 (外二) -> 0.5, 20/1, reported 2
#                黄浦区: 4, 3, 3/4, staff 34/9, reported 4

def test_world8_legacy_xls_and_normalised_identities(db_url: str, tmp_path: Path) -> None:
    w = messy.build_world8(tmp_path / "in")
    files = ingest(db_url, tmp_path / "in")
    assert_file(files, w["divisions"], "division", rows=2, rejected=0, inserted=2)
    f = files[w["enterprises"].name]
    assert (f["kind"], f["rows"], f["status"]) == ("enterprise", 5, "loaded"), f
    assert_file(files, w["report"], "reopening_report", rows=4, rejected=0, inserted=4)
    assert_units(summary(db_url, "street", D1), {
        NJD: unit("南京东路街道", 2, 1, 0.5, 0, 0, 10, 6, 1, 0, 0, 0, 0),
        WT: unit("外滩街道", 2, 0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    }, f"street summary on {D1}")
    assert_units(summary(db_url, "street", D2), {
        NJD: unit("南京东路街道", 2, 2, 1.0, 0, 0, 14, 8, 2, 0, 0, 0, 0),
        WT: unit("外滩街道", 2, 1, 0.5, 0, 0, 20, 1, 2, 0, 0, 0, 0),
    }, f"street summary on {D2}")
    assert_units(summary(db_url, "district", D2), {
        "310101": unit("黄浦区", 4, 3, 3 / 4, 0, 0, 34, 9, 4, 0, 0, 0, 0),
    }, f"district summary on {D2}")


# --------------------------------------------------------------------------- world 9: years of dates written without one
#
# 欧阳路街道 310109009 (虹口区).  docs/sources.md#dates: the year of "2月6日" is taken from the other dates of the
# same column, else of the same file, else the configured campaign year (2020).
#   返岗登记_2021.csv: 返沪日期 has no year anywhere; 隔离截止日期 says 2021 ->
#       冯一 returns 2021-02-06, 居家隔离 until 2021-02-20; 陈二 returns 2021-02-03, 无需隔离
#   返岗登记_无年份.csv: no year in the file -> 褚三 returns 2020-02-09, 居家隔离 -> end 2020-02-23
# On 2021-02-05: returning 陈二 + 褚三 = 2 (冯一 returns 02-06); in quarantine: 褚三 ended 2020-02-23 -> 0
# On 2020-02-10: returning 褚三 = 1; in quarantine 褚三 (2020-02-23 >= D) = 1

def test_world9_year_of_dates_without_year(db_url: str, tmp_path: Path) -> None:
    w = messy.build_world9(tmp_path / "in")
    files = ingest(db_url, tmp_path / "in")
    assert_file(files, w["staff_2021"], "returning_staff", rows=2, rejected=0, inserted=2)
    assert_file(files, w["staff_noyear"], "returning_staff", rows=1, rejected=0, inserted=1)
    assert_units(summary(db_url, "street", "2021-02-05"), {
        OYL: unit("欧阳路街道", 0, 0, None, 0, 0, 0, 0, 0, 0, 0, 2, 0),
    }, "street summary on 2021-02-05")
    assert_units(summary(db_url, "street", D1), {
        OYL: unit("欧阳路街道", 0, 0, None, 0, 0, 0, 0, 0, 0, 0, 1, 1),
    }, f"street summary on {D1}")


# --------------------------------------------------------------------------- world 10: credit code on one side only
#
# 四平路街道 310110009 (杨浦区).  Registry: 一号 without USCC, 二号 with UY2, 三号 without USCC.
# Reports: 一号 now WITH its USCC (UY1), same name and street -> the registry's 一号, not a new one;
#          二号 WITHOUT its USCC -> the registry's 二号 by name within its street.
# On 2020-02-12: enterprises 3, reopened 2 -> 2/3, staff 10+8 / 5+4 = 18/9, reported 2.
# (Were 一号's report taken for a new enterprise, there would be 4 enterprises and a rate of 2/4.)

def test_world10_registry_and_report_match_with_credit_code_on_one_side(db_url: str, tmp_path: Path) -> None:
    w = messy.build_world10(tmp_path / "in")
    files = ingest(db_url, tmp_path / "in")
    assert_file(files, w["enterprises"], "enterprise", rows=3, rejected=0, inserted=3)
    assert_file(files, w["report"], "reopening_report", rows=2, rejected=0, inserted=2)
    assert_units(summary(db_url, "street", D2), {
        SPL: unit("四平路街道", 3, 2, 2 / 3, 0, 0, 18, 9, 2, 0, 0, 0, 0),
    }, f"street summary on {D2}")


# --------------------------------------------------------------------------- the fixtures themselves

def test_fixtures_are_real_files(tmp_path: Path, zip_bomb: Path) -> None:
    """Independent of the product: the builders write files that real readers open."""
    p = messy.build_world1(tmp_path / "w1")
    # directory order is the wrong load order (staff, reports, then registries)
    assert [x.name for x in sorted((tmp_path / "w1").iterdir())] == list(messy.WORLD1_FILES.values())
    assert p["divisions"].read_bytes().decode("gbk").startswith("区划代码")
    assert p["staff_csv"].read_bytes().startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(p["staff_csv"], encoding="utf-8-sig", dtype=str).shape == (9, 11)
    book = xlrd.open_workbook(str(p["enterprises"]))
    assert book.sheet_by_index(0).nrows == 11
    wb = openpyxl.load_workbook(p["report_0210"])
    assert [(ws.title, ws.sheet_state) for ws in wb.worksheets] == [
        ("长宁区", "visible"), ("浦东新区", "visible"), ("填报说明", "hidden")]
    assert wb["长宁区"]["I7"].value == 43871 and wb["长宁区"]["N3"].is_date
    bld = openpyxl.load_workbook(p["buildings"])["楼宇台账"]
    assert {str(r) for r in bld.merged_cells.ranges} >= {"A1:H1", "E2:G2", "A2:A3"}
    staff = openpyxl.load_workbook(p["staff_xlsx"])["补报"]
    assert staff["C4"].data_type == "n" and staff["C3"].data_type == "s"
    assert messy.id15_to_18(messy.P1_OLD15) == messy.P1_ID
    # broken files
    bad = messy.build_world3_bad(tmp_path / "bad", zip_bomb)
    assert bad["empty"].stat().st_size == 0
    import msoffcrypto
    with open(bad["encrypted"], "rb") as fh:
        assert msoffcrypto.OfficeFile(fh).is_encrypted()
    import zipfile
    info = zipfile.ZipFile(zip_bomb).getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size == 5 << 30 and zip_bomb.stat().st_size < 8 << 20
    for build in (messy.build_world3_good, messy.build_world4, messy.build_world5, messy.build_world6,
                  messy.build_world8, messy.build_world10):
        for path in build(tmp_path / build.__name__).values():
            assert path.stat().st_size > 0
    xls = xlrd.open_workbook(str(tmp_path / "build_world8" / "复工申报.xls")).sheet_by_index(0)
    assert xls.cell_type(2, 4) == xlrd.XL_CELL_DATE and xls.cell_type(2, 7) == xlrd.XL_CELL_DATE
    w7 = messy.build_world7(tmp_path / "w7")
    reg = openpyxl.load_workbook(w7["enterprises"])["名录"]
    assert "B3:B5" in {str(r) for r in reg.merged_cells.ranges} and reg["B4"].value is None
