"""Value rules of SPEC §3–§4, on columns as they come out of real files (text from CSV, objects from Excel)."""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from stdnum.cn import ric

from etl.normalise import ERRORS, header_key, name_key, parse_column
from schemas import sources as S
from tests.fixtures.messy import id15_to_18, make_id, wrong_check

VALID = make_id("310105", "19850312", "123")
OLD15 = "310105850312123"


def parse(parser: str, values: list, year: int | None = None, text: bool = False) -> tuple[list, list]:
    raw = pd.Series(values, dtype="string[pyarrow]" if text else object)
    parsed = parse_column(parser, raw, year)
    return ([None if pd.isna(v) else v for v in parsed.values.tolist()],
            [None if pd.isna(e) else e for e in parsed.errors.tolist()])


@pytest.mark.parametrize("text", [True, False], ids=["csv", "excel"])
def test_every_date_spelling(text: bool) -> None:
    spellings = ["2020-02-10", "2020/2/10", "2020.2.10", "2020年2月10日", "20200210", "2月10日"]
    values, errors = parse(S.DATE, spellings, text=text)
    assert values == [date(2020, 2, 10)] * len(spellings) and errors == [None] * len(spellings)


def test_excel_serials_and_datetime_cells() -> None:
    values, errors = parse(S.DATE, [43871, 43871.0, datetime(2020, 2, 10, 9, 30), date(2020, 2, 10)])
    assert values == [date(2020, 2, 10)] * 4 and errors == [None] * 4


def test_year_of_a_date_without_one_comes_from_the_column_then_the_file_then_the_campaign() -> None:
    values, _ = parse(S.DATE, ["2021-02-08", "2月9日"], year=None, text=True)
    assert values[1] == date(2021, 2, 9)
    values, _ = parse(S.DATE, ["2月9日"], year=2021, text=True)
    assert values == [date(2021, 2, 9)]
    values, _ = parse(S.DATE, ["2月9日"], year=None, text=True)
    assert values == [date(2020, 2, 9)]


def test_impossible_dates_are_rejected_with_the_reason() -> None:
    values, errors = parse(S.DATE, ["2020-02-30", "2020/13/5", "不详"], text=True)
    assert values == [None, None, None]
    assert errors[:2] == ["date_invalid", "date_invalid"]
    assert "2020-02-10" in ERRORS["date_invalid"]


@pytest.mark.parametrize("yes, no", [("是", "否"), ("已", "未"), ("Y", "N"), ("√", "×"), ("1", "0"), ("TRUE", "FALSE"), ("y", "n")])
def test_yes_no_spellings(yes: str, no: str) -> None:
    values, errors = parse(S.BOOL, [yes, no], text=True)
    assert values == [True, False] and errors == [None, None]


def test_yes_no_from_excel_numbers_and_booleans() -> None:
    values, _ = parse(S.BOOL, [1, 0, True, False, 1.0])
    assert values == [True, False, True, False, True]


def test_full_width_characters_and_odd_spaces_in_text() -> None:
    values, _ = parse(S.TEXT, ["\u3000上海\u00a0甲科技  有限公司 ", "ＡＢＣ１２３", "  "], text=True)
    assert values == ["上海 甲科技 有限公司", "ABC123", None]


def test_names_lose_the_spaces_typed_between_chinese_characters() -> None:
    values, _ = parse(S.NAME, ["张 三", "\u3000李四\u3000", "John Smith"], text=True)
    assert values == ["张三", "李四", "John Smith"]


@pytest.mark.parametrize("spelling", ["+86 138 0013 8000", "138-0013-8000", "86-13800138000", "１３８００１３８０００", "13800138000"])
def test_mobile_phone_spellings(spelling: str) -> None:
    values, errors = parse(S.PHONE, [spelling], text=True)
    assert values == ["13800138000"] and errors == [None]


def test_phone_typed_as_a_number_in_excel_and_landlines() -> None:
    values, errors = parse(S.PHONE, [13800138000.0, "021-6200 0004"])
    assert values[0] == "13800138000" and errors[0] is None
    assert values[1] is not None and values[1].replace("-", "").endswith("62000004")


def test_id_numbers_valid_old_15_digit_and_lower_case_x() -> None:
    with_x = next(make_id("310115", "19960620", f"{n:03d}") for n in range(1000)
                  if make_id("310115", "19960620", f"{n:03d}").endswith("X"))
    values, errors = parse(S.ID_NUMBER, [VALID, OLD15, with_x.lower(), f" {VALID} "], text=True)
    assert values == [VALID, id15_to_18(OLD15), with_x, VALID]
    assert errors == [None] * 4
    assert all(ric.is_valid(v) for v in values)


def test_id_numbers_that_excel_turned_into_numbers_are_unrecoverable() -> None:
    values, errors = parse(S.ID_NUMBER, [3.10105198503121e17, "3.10105E+17", VALID[:14] + "0000"])
    assert values == [None, None, None]
    assert errors[:2] == ["id_stored_as_number", "id_stored_as_number"]
    assert errors[2] == "id_digits_lost"
    assert "无法恢复" in ERRORS[errors[0]]


def test_id_check_character_and_birth_date_verified() -> None:
    bad_birth = make_id("310105", "19851332", "123")
    _, errors = parse(S.ID_NUMBER, [wrong_check(VALID), bad_birth, "12345"], text=True)
    assert errors == ["id_checksum", "id_birth_date", "id_format"]


def test_credit_codes_checked_by_gb_32100() -> None:
    from tests.fixtures.messy import make_uscc  # noqa: PLC0415

    good = make_uscc("91310105MA1FL0001")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    values, errors = parse(S.USCC, [good, good.lower(), bad], text=True)
    assert values[:2] == [good, good] and errors == [None, None, "uscc_invalid"]


@pytest.mark.parametrize("label, plain", [(" 身份证号 ", "身份证号"), ("身份证\u3000号", "身份证号"), ("ＵＳＣＣ", "uscc"),
                                          ("体温(℃)", "体温"), ("体温（℃）", "体温"), ("员工总数（人）", "员工总数"),
                                          ("已返岗人数 (人)", "已返岗人数"), ("Phone", "phone")])
def test_header_keys_ignore_case_spaces_width_and_units(label: str, plain: str) -> None:
    assert header_key(label) == header_key(plain)


def test_every_header_spelling_of_the_spec_maps_to_its_field() -> None:
    for kind in S.SOURCE_KINDS:
        keys: dict[str, str] = {}
        for field in kind.fields:
            for spelling in field.spellings:
                assert keys.setdefault(header_key(spelling), field.name) == field.name, (kind.name, spelling)
    staff = S.RETURNING_STAFF
    spellings = {"名字": "name", "员工姓名": "name", "公民身份号码": "id_number", "证件号码": "id_number",
                 "联系方式": "phone", "工作单位": "enterprise_name", "社会信用代码": "uscc", "办公楼宇": "building",
                 "街镇": "street", "区县": "district", "从何地返沪": "origin", "抵沪日期": "return_date",
                 "隔离情况": "quarantine_status", "解除隔离日期": "quarantine_end"}
    by_key = {header_key(s): f.name for f in staff.fields for s in f.spellings}
    for spelling, name in spellings.items():
        assert by_key[header_key(spelling)] == name, spelling


def test_name_keys_identify_names_across_spellings() -> None:
    assert name_key("上海甲科技有限公司") == name_key(" 上海甲科技 有限公司") == name_key("上海甲科技有限公司（）")
    assert name_key("ＡＢＣ大厦") == name_key("abc大厦")
