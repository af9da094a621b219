"""Value rules of docs/sources.md and docs/rules.md, on columns as they come out of real files (text from CSV, objects from Excel)."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pytest
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from etl import config
from etl.normalise import ERRORS, parse_column
from etl.text import header_key, name_key
from etl.read import find_header
from schemas import sources as S
from tests.fixtures.messy import (
    excel_serial,
    fullwidth,
    id15_to_18,
    make_id,
    make_uscc,
    wrong_check,
)

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


def test_a_csv_column_of_clean_mobile_numbers_is_kept_as_it_is() -> None:
    clean = ["13800138000", None, "19912345678"]
    as_read, errors = parse(S.PHONE, clean, text=True)
    cleaned, cleaned_errors = parse(S.PHONE, clean)  # Excel cells: the general clean-up
    assert as_read == cleaned == clean and errors == cleaned_errors == [None] * 3
    raw = pd.Series(clean, dtype="string[pyarrow]")
    assert parse_column(S.PHONE, raw, None).values.dtype == "string[pyarrow]"


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


# --------------------------------------------------------------------------- more spellings of docs/sources.md
#
# The tests below use independent oracles: python-stdnum (cn.ric for GB 11643, cn.uscc for GB 32100)
# and the check-character code of tests/fixtures/messy.py, never the product's own helpers.


FEB10 = date(2020, 2, 10)


@pytest.mark.parametrize("spelling", [
    "2020-2-10", "2020-02-10", "2020/02/10", "2020.02.10", "2020年02月10日", "2020 年 2 月 10 日",
    "２０２０－０２－１０", "２０２０年２月１０日", "\u30002020/2/10\u3000", "\xa02020.2.10\xa0", "20200210",
    "２０２００２１０", "2月10日", "２月１０日", " 2月10日 ",
])
def test_date_spellings_with_full_width_digits_and_odd_spaces(spelling: str) -> None:
    for text in (True, False):
        values, errors = parse(S.DATE, [spelling], text=text)
        assert values == [FEB10] and errors == [None], (spelling, text, values, errors)


def test_date_cells_from_excel_as_serials_numbers_and_datetimes() -> None:
    """What calamine hands over for Excel cells: serials (int/float), yyyymmdd numbers, datetimes."""
    cells = [excel_serial(FEB10), float(excel_serial(FEB10)), 20200210, 20200210.0,
             datetime(2020, 2, 10), datetime(2020, 2, 10, 23, 59, 59), pd.Timestamp("2020-02-10 08:00"), FEB10]
    values, errors = parse(S.DATE, cells)
    assert values == [FEB10] * len(cells) and errors == [None] * len(cells)


@pytest.mark.parametrize("cell", [
    "2020-02-10 09:30", "2020/2/10 9:30", "2020.2.10 09:30:00", "2020年2月10日 9:30", "2020-02-10T09:30:00",
    "２０２０－０２－１０　０９：３０", datetime(2020, 2, 10, 9, 30), excel_serial(FEB10) + 9.5 / 24,
])
def test_submission_times_in_every_spelling(cell: object) -> None:
    values, errors = parse(S.DATETIME, [cell], text=isinstance(cell, str))
    assert values == [datetime(2020, 2, 10, 9, 30)] and errors == [None], (cell, values, errors)


@pytest.mark.parametrize("cell", [
    "2020-02-10T01:30:00Z", "2020-02-10T01:30Z", "2020-02-10T09:30:00+08:00", "2020/2/10 01:30:00 +0000",
    "2020-02-09T17:30:00.000-08:00", datetime(2020, 2, 10, 1, 30, tzinfo=UTC),
])
def test_times_given_with_their_utc_offset_are_read_as_local_time(cell: object) -> None:
    """Form tools export instants (…Z); a report at 01:30 UTC was submitted at 09:30 in Shanghai."""
    values, errors = parse(S.DATETIME, [cell], text=isinstance(cell, str))
    assert values == [datetime(2020, 2, 10, 9, 30)] and errors == [None], (cell, values, errors)


def test_a_time_range_is_not_taken_for_an_offset() -> None:
    values, errors = parse(S.DATETIME, ["2020-02-10 10:00-12:00"], text=True)
    assert values == [datetime(2020, 2, 10, 10, 0)] and errors == [None]


def test_a_date_without_time_as_submission_time_is_midnight() -> None:
    values, errors = parse(S.DATETIME, ["2020-02-10", FEB10, excel_serial(FEB10)])
    assert values == [datetime(2020, 2, 10)] * 3 and errors == [None] * 3


def test_year_of_a_month_day_date_follows_the_majority_of_the_column() -> None:
    values, errors = parse(S.DATE, ["2021-02-08", "2021/2/9", "2月10日", "2月11日", "20210212"], text=True)
    assert values == [date(2021, 2, d) for d in (8, 9, 10, 11, 12)] and errors == [None] * 5


def test_the_column_year_wins_over_the_file_year() -> None:
    values, _ = parse(S.DATE, ["2022-03-01", "3月2日"], year=2021, text=True)
    assert values == [date(2022, 3, 1), date(2022, 3, 2)]


def test_the_campaign_year_is_the_configured_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "CAMPAIGN_YEAR", 2022)
    values, errors = parse(S.DATE, ["2月9日"], year=None, text=True)
    assert values == [date(2022, 2, 9)] and errors == [None]


def test_month_day_dates_that_do_not_exist_in_the_inferred_year_are_rejected() -> None:
    values, errors = parse(S.DATE, ["2021-01-05", "2月29日"], text=True)   # 2021 is no leap year
    assert values == [date(2021, 1, 5), None] and errors == [None, "date_invalid"]
    values, errors = parse(S.DATE, ["2月29日"], year=2020, text=True)
    assert values == [date(2020, 2, 29)] and errors == [None]


@pytest.mark.parametrize("yes, no", [("ＴＲＵＥ", "ＦＡＬＳＥ"), ("Ｙ", "Ｎ"), ("１", "０"), ("true", "false"),
                                     ("\u3000是\u3000", "\xa0否\xa0"), (" √ ", " × ")])
def test_yes_no_with_full_width_and_padding(yes: str, no: str) -> None:
    values, errors = parse(S.BOOL, [yes, no], text=True)
    assert values == [True, False] and errors == [None, None]


def test_yes_no_nonsense_is_rejected_not_guessed() -> None:
    values, errors = parse(S.BOOL, ["也许", "2", "待定"], text=True)
    assert values == [None, None, None] and errors == ["bool_invalid"] * 3


def test_empty_cells_are_missing_not_errors() -> None:
    for parser in (S.DATE, S.DATETIME, S.BOOL, S.PHONE, S.ID_NUMBER, S.USCC, S.INT, S.TEXT):
        values, errors = parse(parser, ["", "\u3000", "\xa0 ", None], text=False)
        assert values == [None] * 4 and errors == [None] * 4, parser


def test_full_width_digits_in_numbers_and_codes() -> None:
    values, errors = parse(S.INT, ["１２", "３０人", 45, 45.0], text=False)
    assert values == [12, 30, 45, 45] and errors == [None] * 4
    good = make_uscc("91310105MA1FL0001")
    values, errors = parse(S.USCC, [fullwidth(good), "\u3000" + good + "\xa0", fullwidth(good.lower())], text=True)
    assert values == [good] * 3 and errors == [None] * 3


def test_nbsp_and_ideographic_spaces_inside_text_become_one_space() -> None:
    values, _ = parse(S.TEXT, ["江苏路\xa0100号", "华鑫\u3000\u3000大厦", "\t备注\n"], text=True)
    assert values == ["江苏路 100号", "华鑫 大厦", "备注"]


@pytest.mark.parametrize("spelling", [
    "+86 13800138000", "+86-138-0013-8000", "+8613800138000", "138 0013 8000", "\u3000138-0013-8000\xa0",
    "＋８６ １３８ ００１３ ８０００",
])
def test_more_mobile_phone_spellings(spelling: str) -> None:
    values, errors = parse(S.PHONE, [spelling], text=True)
    assert values == ["13800138000"] and errors == [None], (spelling, values, errors)


def test_phone_nonsense_is_rejected() -> None:
    values, errors = parse(S.PHONE, ["12345", "电话打不通"], text=True)
    assert values == [None, None] and errors == ["phone_invalid", "phone_invalid"]


# --- resident IDs, with python-stdnum's cn.ric as the oracle

AREAS = ("310101", "310104", "310105", "310106", "310115", "320102", "420102", "110101")


def _random_valid_ids(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(20_000))
        body = f"{rng.choice(AREAS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        out.append(body + ric.calc_check_digit(body + "0"))
    return out


def ric_ok(number: str) -> bool:
    """stdnum's GB 11643 check character and birth date (not its birthplace-by-era table: an ID
    of an area code that was renamed since is still a valid ID for onenet)."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        ric.get_birth_date(number)
    except ValueError:
        return False
    return number[17] == ric.calc_check_digit(number)


def test_check_characters_agree_with_stdnum_cn_ric() -> None:
    rng = random.Random(11643)
    valid = _random_valid_ids(rng, 1500)
    assert all(ric_ok(v) for v in valid)
    wrong = [v[:17] + rng.choice([c for c in "0123456789X" if c != v[17]]) for v in valid[:700]]
    values, errors = parse(S.ID_NUMBER, valid + wrong, text=True)
    for raw, value, error in zip(valid + wrong, values, errors):
        if ric_ok(raw):
            assert value == raw and error is None, (raw, value, error)
        else:
            assert value is None and error in {"id_checksum", "id_digits_lost"}, (raw, value, error)


def test_valid_ids_from_excel_text_cells_too() -> None:
    """The same IDs as objects (an .xlsx text column), padded and full-width as typed by an IME."""
    valid = _random_valid_ids(random.Random(7), 50)
    cells = [fullwidth(v) if i % 3 == 0 else f"\u3000{v}\xa0" if i % 3 == 1 else v.lower() for i, v in enumerate(valid)]
    values, errors = parse(S.ID_NUMBER, cells, text=False)
    assert values == valid and errors == [None] * len(valid)


def test_fifteen_digit_ids_become_their_eighteen_digit_form() -> None:
    rng = random.Random(15)
    olds = [f"{rng.choice(AREAS)}{date(1940, 1, 1) + timedelta(days=rng.randrange(20_000)):%y%m%d}{rng.randrange(1000):03d}"
            for _ in range(200)]
    values, errors = parse(S.ID_NUMBER, olds, text=True)
    assert errors == [None] * len(olds)
    for old, new in zip(olds, values):
        assert new == id15_to_18(old) and len(new) == 18 and ric_ok(new), (old, new)
        assert new[6:8] == "19" and new[:6] == old[:6] and new[8:17] == old[6:15]


def test_a_fifteen_digit_id_and_its_eighteen_digit_form_are_one_value() -> None:
    values, _ = parse(S.ID_NUMBER, [OLD15, id15_to_18(OLD15), fullwidth(OLD15)], text=True)
    assert values[0] == values[1] == values[2] == id15_to_18(OLD15)


@pytest.mark.parametrize("cell", [
    3.10105198503121e17, 310105198503121000, 310105198503121234,  # number cells: digits gone or not trustworthy
    "3.10105E+17", "3.10105e+17", "3.10105E17", "3.101051985E+17", "３.１０１０５Ｅ＋１７", " 3.10105E+17 ",
])
def test_ids_stored_as_numbers_are_rejected_as_unrecoverable(cell: object) -> None:
    values, errors = parse(S.ID_NUMBER, [cell], text=isinstance(cell, str))
    assert values == [None] and errors == ["id_stored_as_number"], (cell, values, errors)
    assert "无法恢复" in ERRORS[errors[0]]


def test_ids_whose_last_digits_excel_turned_to_000_are_rejected_as_unrecoverable() -> None:
    """Excel keeps 15 significant digits: an 18-digit ID pasted back as text ends in 000."""
    lost = [v[:15] + "000" for v in _random_valid_ids(random.Random(3), 200)]
    lost = [x for x in lost if not ric_ok(x)][:50]
    values, errors = parse(S.ID_NUMBER, lost, text=True)
    assert values == [None] * len(lost) and errors == ["id_digits_lost"] * len(lost)
    assert "无法恢复" in ERRORS["id_digits_lost"]


def test_a_real_id_that_happens_to_end_in_000_is_kept() -> None:
    real = next(v for v in (f"{b}{s:03d}" + ric.calc_check_digit(f"{b}{s:03d}0")
                            for b in ("31010519850312", "31010519900101", "31010519700707") for s in range(0, 1000, 100))
                if v.endswith("000"))
    assert ric_ok(real)
    values, errors = parse(S.ID_NUMBER, [real], text=True)
    assert values == [real] and errors == [None]


def test_ids_with_impossible_birth_dates_or_wrong_shape_are_rejected() -> None:
    bad_birth = [make_id("310105", "19850230", "123"), make_id("310105", "18000101", "123"),
                 make_id("310105", f"{date.today().year + 1}0101", "123")]
    shapes = ["31010519850312123", "3101051985031212345", "31010519850312123A", "身份证丢失"]
    values, errors = parse(S.ID_NUMBER, bad_birth + shapes, text=True)
    assert values == [None] * 7
    assert errors == ["id_birth_date"] * 3 + ["id_format"] * 4


# --- credit codes, with python-stdnum's cn.uscc and the fixture's own GB 32100 code as oracles

def test_credit_code_check_characters_agree_with_stdnum_cn_uscc() -> None:
    rng = random.Random(32100)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    codes = []
    for _ in range(600):
        body = "9" + rng.choice("123") + rng.choice(AREAS) + "".join(rng.choice(alphabet) for _ in range(9))
        good = make_uscc(body)
        assert stdnum_uscc.is_valid(good), good
        codes.append(good)
        codes.append(good[:17] + rng.choice([c for c in alphabet if c != good[17]]))
    codes += ["91310105MA1FL000", "91310105MA1FL0001II", "9131010IMA1FL00012", "不是代码"]
    values, errors = parse(S.USCC, codes, text=True)
    for raw, value, error in zip(codes, values, errors):
        if stdnum_uscc.is_valid(raw):
            assert value == raw and error is None, raw
        else:
            assert value is None and error == "uscc_invalid", (raw, value, error)


# --- header spellings: every one of docs/sources.md, written out here by hand (not from schemas/)

DOCUMENTED_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "returning_staff": {
        "name": ("姓名", "名字", "员工姓名", "人员姓名"),
        "id_number": ("身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证"),
        "phone": ("手机号", "手机号码", "联系电话", "电话", "联系方式"),
        "enterprise_name": ("企业名称", "单位名称", "公司名称", "所在单位", "工作单位"),
        "uscc": ("统一社会信用代码", "信用代码", "社会信用代码"),
        "building": ("楼宇", "楼宇名称", "所在楼宇", "办公楼宇"),
        "street": ("街道", "所属街道", "街镇"),
        "district": ("区", "所属区", "区县", "所在区"),
        "origin": ("来源地", "返沪前所在地", "出发地", "从何地返沪"),
        "return_date": ("返沪日期", "返沪时间", "到沪日期", "抵沪日期", "返岗日期"),
        "quarantine_status": ("隔离状态", "隔离情况"),
        "quarantine_end": ("隔离截止日期", "解除隔离日期", "隔离结束日期"),
        "temperature": ("体温",),
        "health": ("健康状况",),
        "note": ("备注",),
    },
    "reopening_report": {
        "enterprise_name": ("企业名称", "单位名称", "公司名称", "所在单位", "工作单位"),
        "uscc": ("统一社会信用代码", "信用代码", "社会信用代码"),
        "building": ("楼宇", "楼宇名称", "所在楼宇", "办公楼宇"),
        "street": ("街道", "所属街道", "街镇"),
        "district": ("区", "所属区", "区县", "所在区"),
        "planned_reopen_date": ("计划复工日期", "拟复工日期", "预计复工时间"),
        "reopened": ("是否复工", "复工状态", "已复工"),
        "actual_reopen_date": ("实际复工日期", "复工日期"),
        "staff_total": ("员工总数", "员工人数", "职工人数", "在职人数"),
        "staff_returned": ("已返岗人数", "返岗人数", "到岗人数"),
        "staff_quarantined": ("隔离人数",),
        "contact_name": ("联系人", "负责人", "填报人"),
        "contact_phone": ("联系电话",),
        "submitted_at": ("填报时间", "提交时间"),
    },
    "division": {
        "code": ("区划代码", "代码"),
        "name": ("名称", "区划名称"),
        "level": ("级别",),
        "parent": ("上级代码", "上级区划代码"),
    },
    "building": {
        "building": ("楼宇名称",),
        "address": ("地址",),
        "street": ("街道", "所属街道", "街镇"),
        "district": ("区", "所属区", "区县", "所在区"),
        "community": ("居委", "社区", "网格"),
        "lng": ("经度",),
        "lat": ("纬度",),
        "owner": ("业主单位", "物业单位", "物业公司"),
        "owner_contact": ("联系人",),
        "owner_phone": ("联系电话",),
        "building_type": ("楼宇类型",),
    },
    "enterprise": {
        "enterprise_name": ("企业名称", "单位名称", "公司名称", "所在单位", "工作单位"),
        "uscc": ("统一社会信用代码", "信用代码", "社会信用代码"),
        "address": ("经营地址", "注册地址"),
        "building": ("楼宇", "楼宇名称", "所在楼宇", "办公楼宇"),
        "street": ("街道", "所属街道", "街镇"),
        "district": ("区", "所属区", "区县", "所在区"),
        "industry": ("行业",),
        "staff_total": ("员工总数", "员工人数", "职工人数", "在职人数"),
        "kind": ("类型",),
    },
}


def _decorations(spelling: str) -> list[str]:
    """The ways docs/sources.md#header-matching says never matter: spaces, full-width forms, a trailing unit."""
    mid = len(spelling) // 2
    return [
        spelling,
        f" {spelling} ",
        f"\u3000{spelling}\xa0",
        spelling[:mid] + " " + spelling[mid:] if len(spelling) > 1 else spelling,
        spelling[:mid] + "\u3000" + spelling[mid:] if len(spelling) > 1 else spelling,
        f"{spelling}(℃)",
        f"{spelling}（人）",
        f"{spelling} (单位) ",
        fullwidth(spelling),
    ]


def _header_cases() -> list[tuple[str, str, str]]:
    return [(kind, field, spelling) for kind, fields in DOCUMENTED_HEADERS.items()
            for field, spellings in fields.items() for spelling in spellings]


@pytest.mark.parametrize("kind, field, spelling", _header_cases(), ids=lambda v: str(v))
def test_every_spec_header_spelling_is_recognised_in_a_real_header_row(kind: str, field: str, spelling: str) -> None:
    """A header row of the kind's canonical headers with one of them replaced by the spelling under
    test (decorated in every way that must not matter) is detected as that kind, and the column maps
    to the field."""
    canonical = {f: spellings[0] for f, spellings in DOCUMENTED_HEADERS[kind].items()}
    problems = []
    for label in _decorations(spelling):
        row = [label if f == field else h for f, h in canonical.items()]
        match = find_header([row, ["x"] * len(row)])
        col = list(canonical).index(field)
        if match is None:
            problems.append(f"{label!r}: no header found")
        elif match.kind.name != kind or match.columns.get(col) != field:
            problems.append(f"{label!r}: {match.kind.name} {match.columns.get(col)}")
    assert not problems, problems


def test_latin_headers_ignore_case_and_width() -> None:
    assert header_key("ＬＮＧ") == header_key("lng") == header_key(" LNG ")


@pytest.mark.parametrize("cell", ["2月10日 9:30", "2月10日9:30", "2月10日 09:30:00"])
def test_submission_times_written_month_day_take_the_year_like_dates(cell: str) -> None:
    """docs/sources.md#dates lists 2月10日 among the date spellings; a 填报时间 written that way with a time takes its year from
    the column (here 2021), like a date does."""
    values, errors = parse(S.DATETIME, ["2021-02-09 08:00", cell], text=True)
    assert values == [datetime(2021, 2, 9, 8, 0), datetime(2021, 2, 10, 9, 30)] and errors == [None, None], values


@pytest.mark.parametrize("cell", ["2/10 9:30", "2-10 9:30", "2/10"])
def test_a_month_day_without_year_never_lands_in_year_one(cell: str) -> None:
    for parser in (S.DATE, S.DATETIME):
        values, _ = parse(parser, [cell], year=2020, text=True)
        value = values[0]
        assert value is None or value.year == 2020, (parser, cell, value)


def test_a_time_without_a_date_is_not_silently_dated_today() -> None:
    """A 填报时间 cell holding only "9:30" (or an Excel time cell) says nothing about the day: it must not become
    the day the file happens to be loaded."""
    today = {config.local_now().date(), datetime.now().date(), datetime.now(UTC).date()}
    for cell, text in (("9:30", True), ("09:30:00", True), (time(9, 30), False)):
        values, errors = parse(S.DATETIME, [cell], text=text)
        assert values[0] is None or values[0].date() not in today, (cell, values, errors)
        if values[0] is None:
            assert errors[0] == "datetime_invalid", (cell, errors)


def test_a_column_of_ids_all_written_as_stored_is_checked_like_any_other() -> None:
    """The fast path for system exports (every cell already 18 clean characters) skips cleaning only."""
    from etl.normalise import ids_as_stored, parse_id_number

    with_x = next(make_id("310115", "19960620", f"{n:03d}") for n in range(1000)
                  if make_id("310115", "19960620", f"{n:03d}").endswith("X"))
    bad_check = VALID[:17] + ("0" if VALID[17] != "0" else "1")
    column = pd.Series([VALID, with_x, bad_check, make_id("310105", "19851332", "123"), "310105198001010000"],
                       index=[5, 6, 7, 8, 9], dtype="string[pyarrow]")
    assert ids_as_stored(column).all()
    fast = parse_id_number(column)
    # One cell written with a space takes the whole column through cleaning: the other cells come out the same.
    general = parse_id_number(pd.concat([column, pd.Series([" " + VALID], index=[10], dtype="string[pyarrow]")]))
    pd.testing.assert_series_equal(fast.values, general.values.iloc[:-1])
    pd.testing.assert_series_equal(fast.errors, general.errors.iloc[:-1])
    assert fast.values.tolist()[:2] == [VALID, with_x]
    assert fast.errors.tolist()[2:] == ["id_checksum", "id_birth_date", "id_digits_lost"]
