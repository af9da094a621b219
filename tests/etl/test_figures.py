"""The figures of docs/figures.md (etl.figures.summary) for a small world worked out by hand, at two dates.

The world is written as real files (openpyxl / csv) and loaded with the real pipeline; every expected
number below is derived in the comments from docs/figures.md, not computed with product code.  Readings:
- `enterprises`, `reopened`, `staff_*`, `reported`, `reported_on_time` are about enterprises proper;
  沿街商铺 only count in `shops` / `shops_open` (docs/figures.md#the-day: "reported beside the enterprises as their own rate, not mixed in").
- `reported_on_time`: enterprises that reported no later than the day they reopened: their latest report
  on D says not reopened, or gives a reopening date on or after the day of their first report (the
  reopening report is filed once, before reopening); `timeliness` = reported_on_time / reported.
- `staff_total` / `staff_returned` add the merged latest report of each enterprise that has both figures.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from etl import config
from etl.divisions import DivisionTree
from etl.figures import COUNTS, RATES, roll_up, summary, unit_row
from etl.pipeline import Ingestor
from etl.database import make_engine
from tests.fixtures.messy import (
    JSL,
    LJZ,
    NJD,
    XHL,
    Sheet,
    id15_to_18,
    make_id,
    make_uscc,
    write_csv,
    write_xlsx,
    wrong_check,
)

A1, A2, A4, A5, A6, AN = (make_uscc(f"91310105MA1FG000{i}") for i in (1, 2, 4, 5, 6, 9))
P1 = make_id("310105", "19800101", "011")
P2 = make_id("310105", "19810202", "022")
P3 = make_id("310115", "19820303", "033")
P4 = make_id("310115", "19830404", "044")
P5 = make_id("310115", "19840505", "055")
P6_OLD = "310105850606066"
P6 = id15_to_18(P6_OLD)
P7_BAD = wrong_check(make_id("310105", "19870707", "077"))

D1, D2 = date(2020, 2, 10), date(2020, 2, 12)


def build_world(folder: Path) -> dict[str, Path]:
    """Streets 江苏路 (JSL), 新华路 (XHL) of 长宁区; 陆家嘴 (LJZ) of 浦东新区; 南京东路 (NJD) of 黄浦区, empty."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "divisions": write_csv(folder / "区划.csv", [
            ["区划代码", "区划名称", "级别", "上级代码"],
            [JSL, "江苏路街道", "街道", "310105"], [XHL, "新华路街道", "街道", "310105"],
            [LJZ, "陆家嘴街道", "街道", "310115"], [NJD, "南京东路街道", "街道", "310101"],
        ], encoding="gbk"),
        "buildings": write_csv(folder / "楼宇台账.csv", [
            ["楼宇名称", "地址", "所属街道", "区", "业主单位", "联系人", "联系电话"],
            ["华鑫大厦", "江苏路100号", "江苏路", "长宁", "华鑫物业", "王伟民", "13800138000"],   # B1
            ["空楼", "江苏路200号", "江苏路", "长宁", "空楼物业", "钱芳", "13900001111"],          # B2: no tenants
            ["新华科技楼", "新华路300号", "新华路", "长宁", "新华物业", "孙立", "13700002222"],     # B3
            ["金融中心", "陆家嘴环路1号", "陆家嘴", "浦东", "陆家嘴物业", "李强", "13600003333"],  # B4
        ]),
        "enterprises": write_csv(folder / "企业名录.csv", [
            ["企业名称", "统一社会信用代码", "所在楼宇", "所属街道", "所属区", "类型"],
            ["上海一号有限公司", A1, "华鑫大厦", "江苏路", "长宁", "企业"],
            ["上海二号有限公司", A2, "华鑫大厦", "江苏路", "长宁", "企业"],
            ["三号咨询工作室", "", "华鑫大厦", "江苏路", "长宁", "个体工商户"],   # no USCC, not a shop
            ["一号面馆", "", "", "江苏路", "长宁", "沿街商铺"],                    # S1
            ["二号便利店", "", "", "江苏路", "长宁", "沿街商铺"],                  # S2
            ["上海四号有限公司", A4, "新华科技楼", "新华路", "长宁", "企业"],
            ["上海五号有限公司", A5, "新华科技楼", "新华路", "长宁", "企业"],
            ["上海六号有限公司", A6, "金融中心", "陆家嘴", "浦东", "企业"],
            ["三号咖啡店", "", "", "陆家嘴", "浦东", "沿街商铺"],                  # S3
        ], encoding="utf-8-sig"),
    }
    header = ["企业名称", "统一社会信用代码", "所在楼宇", "街道", "是否复工", "实际复工日期", "员工总数",
              "已返岗人数", "填报时间"]
    files["reports_1"] = write_xlsx(folder / "复工申报_0210.xlsx", [Sheet("申报", rows=[
        header,
        ["上海一号有限公司", A1, "华鑫大厦", "江苏路", "是", date(2020, 2, 10), 10, 5, datetime(2020, 2, 10, 9, 0)],   # R1
        ["上海二号有限公司", A2, "华鑫大厦", "江苏路", "否", None, 20, 2, datetime(2020, 2, 10, 10, 30)],            # R2
        ["一号面馆", None, None, "江苏路", "是", date(2020, 2, 10), None, None, datetime(2020, 2, 10, 8, 0)],         # R3
        ["上海四号有限公司", A4, "新华科技楼", "新华路", "是", date(2020, 2, 12), 8, 8,
         datetime(2020, 2, 10, 9, 59, 59)],                                                                         # R4
        ["上海六号有限公司", A6, "金融中心", "陆家嘴", "是", date(2020, 2, 8), 100, 60, datetime(2020, 2, 9, 15, 0)],  # R5
    ])])
    files["reports_2"] = write_csv(folder / "复工申报_0211.csv", [
        header,
        ["上海一号有限公司", A1, "华鑫大厦", "江苏路", "", "", "", "9", "2020-02-11 09:30"],                # R6
        ["三号 咨询工作室", "", "华鑫大厦", "江苏路", "是", "2020-02-11", "4", "", "2020-02-11 11:00"],   # R7
        ["上海五号有限公司", A5, "新华科技楼", "新华路", "否", "", "6", "0", "2020-02-11 09:00"],          # R8
        ["三号咖啡店", "", "", "陆家嘴", "是", "2020-02-11", "", "", "2020-02-11 12:00"],                 # R9
        ["上海新来有限公司", AN, "金融中心", "陆家嘴", "是", "2020-02-11", "12", "6", "2020-02-11 14:00"],  # R10
        ["上海二号有限公司", A2, "华鑫大厦", "江苏路", "是", "2020-02-12", "20", "18", "2020-02-12 09:00"],  # R11
    ])
    files["staff"] = write_csv(folder / "返岗人员.csv", [
        ["姓名", "身份证号", "企业名称", "所属街道", "所属区", "返沪日期", "隔离状态", "隔离截止日期"],
        ["甲", P1, "上海一号有限公司", "江苏路", "长宁", "2020-02-01", "居家隔离", ""],
        ["乙", P2, "上海四号有限公司", "江苏路", "长宁", "2020-02-09", "无需隔离", ""],   # enterprise in XHL
        ["丙", P3, "", "陆家嘴", "浦东", "2020-02-10", "集中隔离", "2020-02-24"],
        ["丁", P4, "", "", "浦东", "2020-02-08", "居家隔离", ""],                         # district only
        ["戊", P5, "上海六号有限公司", "陆家嘴", "浦东", "2020-02-11", "已解除", ""],
        ["己", P6, "上海一号有限公司", "江苏路", "长宁", "2020-02-05", "居家隔离", ""],
        ["己", P6_OLD, "上海一号有限公司", "江苏路", "长宁", "2020-02-05", "居家隔离", ""],  # same person, 15 digits
        ["庚", P7_BAD, "上海一号有限公司", "江苏路", "长宁", "2020-02-01", "居家隔离", ""],  # rejected
    ])
    return files


def load(db_url: str, *paths: Path) -> list[Any]:
    return Ingestor(make_engine(db_url), log=lambda m: None).ingest(list(paths))


def figures(db_url: str, day: date, level: str) -> dict[str, dict[str, Any]]:
    engine = make_engine(db_url)
    with Session(engine) as session:
        rows = summary(session, day, level)
    engine.dispose()
    by_code = {r["code"]: r for r in rows}
    assert len(by_code) == len(rows)
    return by_code


def rate(n: int, d: int) -> float | None:
    return None if d == 0 else n / d


def unit(ent: int, reopened: int, shops: int, shops_open: int, staff_total: int, staff_returned: int,
         reported: int, on_time: int, buildings: int, missing: int, returning: int, quarantine: int) -> dict[str, Any]:
    return {
        "enterprises": ent, "reopened": reopened, "reopening_rate": rate(reopened, ent),
        "shops": shops, "shops_open": shops_open, "shop_reopening_rate": rate(shops_open, shops),
        "staff_total": staff_total, "staff_returned": staff_returned, "staff_return_rate": rate(staff_returned, staff_total),
        "reported": reported, "reporting_coverage": rate(reported, ent),
        "reported_on_time": on_time, "timeliness": rate(on_time, reported),
        "buildings": buildings, "buildings_missing": missing,
        "returning_staff": returning, "in_quarantine": quarantine,
    }


EMPTY = unit(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

# ---- D1 = 2020-02-10: R1..R5 count (submitted before 02-11 00:00)
# JSL: enterprises 一号, 二号, 三号工作室 = 3; reopened 一号 (是, 02-10) = 1; shops 面馆, 便利店 = 2, open 面馆 = 1
#      staff 10/5 + 20/2 = 30/7; reported 一号, 二号 = 2; on time: 一号 (reopened 02-10, reported 02-10),
#      二号 (not reopened) = 2
#      buildings 华鑫, 空楼 = 2; missing 华鑫 (三号 silent) = 1; 空楼 has no tenant: never missing
#      returning 甲 (02-01), 己 (02-05; one person in two spellings) = 2; both in quarantine (ends 02-15, 02-19)
# XHL: enterprises 四号, 五号 = 2; reopened 0 (四号's actual date 02-12 is after D1); shops 0 -> shop rate null
#      staff 8/8; reported 1; on time 1 (reopens 02-12, reported 02-10); buildings 1, missing 1 (五号 silent)
#      returning 乙 (row names 江苏路, enterprise 四号 is in 新华路) = 1, quarantine 0
# LJZ: enterprises 六号 = 1 (新来 not yet seen); reopened 1 (02-08); shops 咖啡店 = 1, open 0
#      staff 100/60; reported 1 (02-09); on time 0 (reopened 02-08, reported a day later); buildings 1, missing 0
#      returning 丙 (02-10) = 1 (戊 returns 02-11); quarantine 丙 (until 02-24) = 1
# NJD: nothing -> every rate null
# 长宁 = JSL + XHL: 5, 1 -> 0.2 (the average of the street rates would be 1/6), shops 2/1, staff 38/15,
#      reported 3, on time 3, buildings 3, missing 2, returning 3, quarantine 2
# 浦东 = LJZ + 丁 (district only, returned 02-08, 居家隔离 until 02-22): returning 2, quarantine 2
# 上海 = 6, 2, shops 3/1, staff 138/75, reported 4, on time 3, buildings 4, missing 2, returning 5, quarantine 4
STREETS_D1 = {
    JSL: unit(3, 1, 2, 1, 30, 7, 2, 2, 2, 1, 2, 2),
    XHL: unit(2, 0, 0, 0, 8, 8, 1, 1, 1, 1, 1, 0),
    LJZ: unit(1, 1, 1, 0, 100, 60, 1, 0, 1, 0, 1, 1),
    NJD: EMPTY,
}
DISTRICTS_D1 = {
    "310105": unit(5, 1, 2, 1, 38, 15, 3, 3, 3, 2, 3, 2),
    "310115": unit(1, 1, 1, 0, 100, 60, 1, 0, 1, 0, 2, 2),
    "310101": EMPTY,
}
CITY_D1 = unit(6, 2, 3, 1, 138, 75, 4, 3, 4, 2, 5, 4)

# ---- D2 = 2020-02-12: every report
# JSL: 一号 (R6 leaves 是否复工 and 员工总数 empty: merged 是, 10/9), 二号 (是, 02-12), 三号 (是, 02-11) -> 3/3
#      shops 2, open 1; staff 10/9 + 20/18 = 30/27 (三号 gave a total but no returned figure: left out)
#      reported 3; on time 3 (一号 reopened the day it first reported, 二号 reported 否 on 02-10 and reopened
#      02-12, 三号 reported 02-11 reopened 02-11); buildings 2, missing 0; returning 2, quarantine 2
# XHL: 四号 (是, 02-12 <= D2), 五号 否 -> 1/2; staff 8/8 + 6/0 = 14/8 (0 is a figure); reported 2; on time 2
#      buildings 1, missing 0; returning 1, quarantine 0
# LJZ: 六号 and 新来 (first seen 02-11 14:00, counts from then) = 2, both reopened; shop open 1/1
#      staff 100/60 + 12/6 = 112/66; reported 2; on time 1 (新来 reopened 02-11, the day it reported; 六号
#      late); buildings 1, missing 0
#      returning 丙, 戊 = 2; quarantine 丙 = 1 (戊 已解除)
# 长宁: 5, 4, shops 2/1, 44/35, reported 5, on time 5, buildings 3, missing 0, returning 3, quarantine 2
# 浦东: LJZ + 丁 (until 02-22): returning 3, quarantine 2
# 上海: 7, 6, shops 3/2, 156/101, reported 7, on time 6, buildings 4, missing 0, returning 6, quarantine 4
STREETS_D2 = {
    JSL: unit(3, 3, 2, 1, 30, 27, 3, 3, 2, 0, 2, 2),
    XHL: unit(2, 1, 0, 0, 14, 8, 2, 2, 1, 0, 1, 0),
    LJZ: unit(2, 2, 1, 1, 112, 66, 2, 1, 1, 0, 2, 1),
    NJD: EMPTY,
}
DISTRICTS_D2 = {
    "310105": unit(5, 4, 2, 1, 44, 35, 5, 5, 3, 0, 3, 2),
    "310115": unit(2, 2, 1, 1, 112, 66, 2, 1, 1, 0, 3, 2),
    "310101": EMPTY,
}
CITY_D2 = unit(7, 6, 3, 2, 156, 101, 7, 6, 4, 0, 6, 4)


def compare(got: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]], label: str) -> list[str]:
    problems = []
    for code, exp in expected.items():
        if code not in got:
            problems.append(f"{label} {code}: missing")
            continue
        for key, want in exp.items():
            have = got[code].get(key)
            if want is None or have is None:
                ok = want is None and have is None
            else:
                ok = have == pytest.approx(want, abs=1e-12) and not isinstance(have, bool)
            if not ok:
                problems.append(f"{label} {code} {key}: expected {want!r}, got {have!r}")
    return problems


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> str:
    files = build_world(tmp_path / "in")
    results = {Path(r.file).name: r for r in load(db_url, tmp_path / "in")}
    assert all(r.status == "loaded" for r in results.values()), [(n, r.status, r.error) for n, r in results.items()]
    staff = results[files["staff"].name]
    assert (staff.rows, staff.rejected) == (8, 1), staff
    assert sum(r.rejected for r in results.values()) == 1, {n: r.rejected for n, r in results.items()}
    return db_url


@pytest.mark.parametrize("day, streets, districts, city", [
    (D1, STREETS_D1, DISTRICTS_D1, CITY_D1), (D2, STREETS_D2, DISTRICTS_D2, CITY_D2)], ids=["0210", "0212"])
def test_figures_of_a_small_world_at_every_level(world: str, day: date, streets: dict, districts: dict,
                                                 city: dict) -> None:
    problems = compare(figures(world, day, "street"), streets, "street")
    problems += compare(figures(world, day, "district"), districts, "district")
    got_city = figures(world, day, "city")
    assert list(got_city) == [config.CITY_CODE], got_city.keys()
    problems += compare(got_city, {config.CITY_CODE: city}, "city")
    assert not problems, f"{day}:\n  " + "\n  ".join(problems)


def test_units_carry_level_code_name_and_parent(world: str) -> None:
    streets = figures(world, D1, "street")
    assert streets[JSL]["level"] == "street" and streets[JSL]["name"] == "江苏路街道"
    assert streets[JSL]["parent_code"] == "310105"
    districts = figures(world, D1, "district")
    assert len(districts) == 16, "every district of the city is listed, with or without data"
    assert districts["310115"]["name"] == "浦东新区"
    assert all(d["reopening_rate"] is None for code, d in districts.items() if code not in ("310105", "310115"))


def test_roll_ups_add_numerators_and_denominators(world: str) -> None:
    for day in (D1, D2):
        streets, districts = figures(world, day, "street"), figures(world, day, "district")
        city = figures(world, day, "city")[config.CITY_CODE]
        for key in ("enterprises", "reopened", "shops", "shops_open", "staff_total", "staff_returned", "reported",
                    "reported_on_time", "buildings", "buildings_missing"):
            assert sum(u[key] for u in streets.values()) == sum(u[key] for u in districts.values()) == city[key], key
            changning = sum(u[key] for c, u in streets.items() if u.get("parent_code") == "310105")
            assert districts["310105"][key] == changning, key
    # 长宁 on D1: streets at 1/3 and 0/2; the district is 1/5, not the average 1/6
    assert figures(world, D1, "district")["310105"]["reopening_rate"] == pytest.approx(0.2)


# --------------------------------------------------------------------------- boundaries of the day


def test_report_boundaries_and_load_moment(db_url: str, tmp_path: Path) -> None:
    """A report counts on D when submitted by the end of D; a report with no submission time counts from the
    moment it was loaded (today)."""
    folder = tmp_path / "in"
    u = [make_uscc(f"91310105MA1BD000{i}") for i in range(1, 6)]
    write_csv(folder / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    write_csv(folder / "名录.csv", [["企业名称", "统一社会信用代码", "所属街道", "类型"],
                                    *[[f"上海边界{i}有限公司", c, "江苏路", "企业"] for i, c in enumerate(u, 1)]])
    write_csv(folder / "申报.csv", [
        ["企业名称", "统一社会信用代码", "街道", "是否复工", "员工总数", "已返岗人数", "填报时间"],
        ["上海边界1有限公司", u[0], "江苏路", "是", "5", "5", "2020-02-10 23:59:59"],   # counts on 02-10
        ["上海边界2有限公司", u[1], "江苏路", "是", "5", "5", "2020-02-11 00:00:00"],   # counts from 02-11
        ["上海边界3有限公司", u[2], "江苏路", "是", "5", "5", "2020-02-11 09:59:00"],
        ["上海边界4有限公司", u[3], "江苏路", "是", "5", "5", "2020-02-11 10:01:00"],
        ["上海边界5有限公司", u[4], "江苏路", "是", "5", "5", ""],                      # counts from today
    ])
    assert all(r.status == "loaded" for r in load(db_url, folder))
    on = {d: figures(db_url, d, "street")[JSL] for d in (date(2020, 2, 10), date(2020, 2, 11))}
    assert (on[date(2020, 2, 10)]["reported"], on[date(2020, 2, 10)]["reopened"]) == (1, 1)
    assert (on[date(2020, 2, 11)]["reported"], on[date(2020, 2, 11)]["reopened"]) == (4, 4)
    today = config.local_now().date()
    assert figures(db_url, today, "street")[JSL]["reported"] == 5
    assert figures(db_url, today - timedelta(days=1), "street")[JSL]["reported"] == 4


def test_timeliness_is_the_share_of_reporters_that_reported_no_later_than_they_reopened(db_url: str,
                                                                                      tmp_path: Path) -> None:
    """The reopening report is filed once, before reopening: an enterprise reported on time when its first
    report came no later than the day it reopened, as its latest report says.  Not the hour of a daily
    deadline: a one-off report sent on 02-11 at 15:00 for a reopening on 02-12 is on time."""
    folder = tmp_path / "in"
    u = [make_uscc(f"91310105MA1TL000{i}") for i in range(1, 9)]
    write_csv(folder / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    write_csv(folder / "名录.csv", [["企业名称", "统一社会信用代码", "所属街道", "类型"],
                                    *[[f"上海及时{i}有限公司", c, "江苏路", "企业"] for i, c in enumerate(u, 1)]])
    write_csv(folder / "申报.csv", [
        ["企业名称", "统一社会信用代码", "街道", "是否复工", "实际复工日期", "填报时间"],
        ["上海及时1有限公司", u[0], "江苏路", "否", "", "2020-02-11 15:00"],             # not reopened: on time
        ["上海及时2有限公司", u[1], "江苏路", "是", "2020-02-11", "2020-02-11 15:00"],   # the same day: on time
        ["上海及时3有限公司", u[2], "江苏路", "是", "2020-02-12", "2020-02-11 15:00"],   # announced ahead: on time
        ["上海及时4有限公司", u[3], "江苏路", "是", "2020-02-10", "2020-02-11 08:00"],   # a day late
        ["上海及时5有限公司", u[4], "江苏路", "是", "", "2020-02-11 08:00"],             # no date: cannot show it
        ["上海及时6有限公司", u[5], "江苏路", "否", "", "2020-02-11 08:00"],             # 否 on 02-11 ...
        ["上海及时6有限公司", u[5], "江苏路", "是", "2020-02-09", "2020-02-12 08:00"],   # ... had reopened 02-09
        ["上海及时7有限公司", u[6], "江苏路", "否", "", "2020-02-11 08:00"],             # 否 on 02-11 ...
        ["上海及时7有限公司", u[6], "江苏路", "是", "2020-02-12", "2020-02-12 18:00"],   # ... reopened 02-12
    ])                                                                                   # 及时8 never reports
    assert all(r.status == "loaded" for r in load(db_url, folder))
    d11, d12 = (figures(db_url, d, "street")[JSL] for d in (date(2020, 2, 11), date(2020, 2, 12)))
    assert (d11["reported"], d11["reported_on_time"]) == (7, 5)      # 1, 2, 3, 6, 7
    assert d11["timeliness"] == pytest.approx(5 / 7), "of the enterprises that reported, not of all 8"
    assert (d12["reported"], d12["reported_on_time"]) == (7, 4)      # 6's later report shows it reopened first
    assert d12["timeliness"] == pytest.approx(4 / 7)
    assert figures(db_url, date(2020, 2, 10), "street")[JSL]["timeliness"] is None


def test_quarantine_ends_14_days_after_return_by_default(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    ids = [make_id("310105", f"1990010{i}", f"{i:03d}") for i in range(1, 7)]
    write_csv(folder / "区划.csv", [["区划代码", "区划名称", "级别", "上级代码"], [JSL, "江苏路街道", "街道", "310105"]])
    write_csv(folder / "返岗.csv", [
        ["姓名", "身份证号", "所属街道", "返沪日期", "隔离状态", "隔离截止日期"],
        ["一", ids[0], "江苏路", "2020-02-01", "居家隔离", ""],            # until 02-15
        ["二", ids[1], "江苏路", "2020-02-01", "集中隔离", ""],            # until 02-15
        ["三", ids[2], "江苏路", "2020-02-01", "居家隔离", "2020-02-20"],  # the given end wins
        ["四", ids[3], "江苏路", "2020-02-01", "已解除", ""],              # never in quarantine
        ["五", ids[4], "江苏路", "2020-02-01", "无需隔离", ""],
        ["六", ids[5], "江苏路", "2020-02-16", "居家隔离", ""],            # returns later: not counted before
    ])
    assert all(r.status == "loaded" for r in load(db_url, folder))

    def staff(day: date) -> tuple[int, int]:
        u = figures(db_url, day, "street")[JSL]
        return u["returning_staff"], u["in_quarantine"]

    assert staff(date(2020, 1, 31)) == (0, 0)
    assert staff(date(2020, 2, 1)) == (5, 3)
    assert staff(date(2020, 2, 15)) == (5, 3)    # 02-01 + 14 days = 02-15: still in quarantine that day
    assert staff(date(2020, 2, 16)) == (6, 2)    # 一, 二 out; 三 until 02-20; 六 back, until 03-01
    assert staff(date(2020, 2, 20)) == (6, 2)
    assert staff(date(2020, 2, 21)) == (6, 1)
    assert staff(date(2020, 3, 2)) == (6, 0)


def test_an_empty_database_has_null_rates(db_url: str) -> None:
    engine = make_engine(db_url)
    Ingestor(engine, log=lambda m: None)  # creates the tables and the shipped districts
    with Session(engine) as session:
        city = summary(session, D1, "city")
    engine.dispose()
    assert len(city) == 1
    for key in ("reopening_rate", "shop_reopening_rate", "staff_return_rate", "reporting_coverage", "timeliness"):
        assert city[0][key] is None, key
    assert city[0]["enterprises"] == 0


def test_roll_up_adds_numerators_and_denominators_never_averages_rates() -> None:
    """One street 1 of 2 reopened, another 1 of 1: the district is 2 of 3 (66.7%), not the mean 75%."""
    tree = DivisionTree.from_rows([("310000", "上海市", "city", None), ("310105", "长宁区", "district", "310000"),
                                   ("310105002", "江苏路街道", "street", "310105"), ("310105003", "新华路街道", "street", "310105")])
    raw: dict[str | None, dict[str, int]] = {
        "310105002": {**dict.fromkeys(COUNTS, 0), "enterprises": 2, "reopened": 1},
        "310105003": {**dict.fromkeys(COUNTS, 0), "enterprises": 1, "reopened": 1},
        None: {**dict.fromkeys(COUNTS, 0), "returning_staff": 4},  # staff with neither street nor district: the city's
    }
    district = unit_row(tree, "310105", roll_up(tree, raw, "district")["310105"])
    assert (district["enterprises"], district["reopened"]) == (3, 2)
    assert district["reopening_rate"] == pytest.approx(2 / 3) and district["shop_reopening_rate"] is None
    city = roll_up(tree, raw, "city")["310000"]
    assert city["enterprises"] == 3 and city["returning_staff"] == 4
    assert set(district) == {"level", "code", "name", "parent_code", *COUNTS, *RATES}
