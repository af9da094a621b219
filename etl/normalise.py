"""Normalise: raw cell values → canonical typed values, column by column.

Every parser takes a raw column (object dtype: str, int, float, bool, date, datetime or missing)
and returns ``Parsed(values, errors)`` where ``errors`` holds an error code per row (missing when
the value is fine).  Low-cardinality columns (dates, yes/no, names of places) are parsed once per
distinct value; high-cardinality ones (ID numbers, phones, names) with vectorised string and
NumPy operations, so a million-row file normalises in seconds.
"""
from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from dateutil import parser as dateutil_parser
from stdnum.cn import uscc as stdnum_uscc

from etl import config
from etl.text import (
    Parsed, clean_scalar, clean_text, factorize_values, is_text_dtype, no_error_codes, parse_name, parse_text,
    parse_uniques, parsed_from_uniques,
)
from schemas import sources as S

EXCEL_EPOCH = datetime(1899, 12, 30)

ERRORS: dict[str, str] = {
    "required": "必填项为空：请补填后重新导入",
    "id_stored_as_number": "身份证号被 Excel 存成了数字（如 3.10105E+17），末几位已丢失、无法恢复：请把该列设为文本格式后重新录入原号码",
    "id_digits_lost": "身份证号末几位为 000 且校验位不符，疑似被 Excel 转成数字后丢失、无法恢复：请按原件重新录入（该列设为文本）",
    "id_format": "身份证号格式不对：应为 18 位（末位可为 X）或 15 位老号码",
    "id_checksum": "身份证号校验位不符（GB 11643）：请核对原件",
    "id_birth_date": "身份证号中的出生日期无效：请核对原件",
    "uscc_invalid": "统一社会信用代码无效（应为 18 位，校验位按 GB 32100）：请核对营业执照",
    "phone_invalid": "电话号码无法识别：手机应为 11 位（可带 +86），座机如 021-12345678",
    "date_invalid": "日期无法识别或不存在：请写成 2020-02-10 这样的格式",
    "datetime_invalid": "时间无法识别：请写成 2020-02-10 09:30 这样的格式",
    "bool_invalid": "是/否无法识别：请填 是 或 否",
    "int_invalid": "应为不小于 0 的整数",
    "float_invalid": "应为数字",
    "quarantine_invalid": "隔离状态应为：居家隔离 / 集中隔离 / 已解除 / 无需隔离",
    "kind_invalid": "类型应为：企业 / 沿街商铺 / 个体工商户",
    "level_invalid": "级别应为：区 / 街道 / 镇 / 居委 / 村委",
    "code_invalid": "区划代码应为 6、9 或 12 位数字",
    "temperature_range": "体温不在 34–43℃ 之间：请核对",
    "coordinate_range": "经纬度不在中国范围内：请核对（经度 73–136，纬度 3–54）",
    "staff_returned_exceeds_total": "已返岗人数大于员工总数：请核对",
    "district_unknown": "区名无法识别：请填写本市的区，如 长宁区",
    "street_unknown": "街道/镇名无法识别：请先导入区划表，或核对名称",
    "street_ambiguous": "街道名在多个区重名：请同时填写所属区",
    "street_not_in_district": "该街道不属于所填的区：请核对",
    "street_missing": "无法确定所属街道：请填写街道，或填写已登记的统一社会信用代码/企业名称",
    "enterprise_missing": "缺少企业名称和统一社会信用代码，无法确定企业",
    "enterprise_unknown": "企业未登记且无法确定所属街道：请填写街道或先导入企业名录",
    "enterprise_ambiguous": "该街道有多家企业叫这个名称：请填写统一社会信用代码",
    "parent_unknown": "上级区划代码不存在：请先导入上级区划",
    "district_missing": "无法确定所属区：请填写区或街道，或填写已登记的企业",
    "future_date": "填报时间晚于当前时间，疑为年份或日期写错：请按实际填报时间改正后重新导入",
}
WANTS_A_REGISTRY = frozenset({"street_unknown", "street_missing", "enterprise_unknown", "parent_unknown", "district_missing"})
"""Codes of rows rejected for want of a registry row (a division, a street, an enterprise): once the registry
is loaded, `onenet ingest --reload` loads them; no other reject is helped by loading the file again."""
WARNING_NOTE = "。该项已留空，本行其余内容已导入"
"""Ends the reason of a warning: an optional value that failed its check was left empty and the row loaded."""


# --- resident ID numbers (GB 11643) -----------------------------------------------------------

_RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_RIC_CHECK = np.array(list("10X98765432"))
_RIC_CHECK_BYTES = np.frombuffer(b"10X98765432", dtype=np.uint8)


def char_matrix(strings: pd.Series, width: int) -> np.ndarray:
    """The bytes of an Arrow string column whose values are all ``width`` ASCII characters, as (n, width)."""
    arr = pa.chunked_array(strings.astype("string[pyarrow]").array._pa_array).combine_chunks()
    if len(arr) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offset_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=offset_type)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[0] + width * len(arr)].reshape(-1, width)


def ric_check_chars(first17: pd.Series) -> np.ndarray:
    """ISO 7064 MOD 11-2 check characters for a column of 17-digit strings (vectorised)."""
    digits = char_matrix(first17, 17).astype(np.int64) - 48
    return _RIC_CHECK[(digits @ _RIC_WEIGHTS) % 11]


def ids_as_stored(raw: pd.Series) -> np.ndarray:
    """Cells already written as an ID is stored (18 ASCII characters, the last a digit or X): nothing to clean."""
    try:
        matched = raw.str.fullmatch(r"[0-9]{17}[0-9X]")
    except AttributeError:  # no text in the column at all
        return np.zeros(len(raw), dtype=bool)
    return matched.fillna(False).astype(bool).to_numpy()


def parse_id_number(raw: pd.Series) -> Parsed:
    """Valid 18-character IDs; 15-digit ones converted; numbers from Excel rejected as lost."""
    errors = no_error_codes(raw.index)
    stored = ids_as_stored(raw)
    if stored.all():  # a system export: every cell already clean, only the check remains
        text = raw.astype("string[pyarrow]")
        is18 = pd.Series(True, index=raw.index)
    else:
        text = clean_text(raw).str.replace(" ", "", regex=False).str.upper()
        if not is_text_dtype(raw):
            # An ID typed into a number cell: 15 digits survive Excel's precision, 18 never do.
            is_number = raw.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
            long_number = is_number & (text.str.len() != 15)
            errors[long_number.fillna(False).astype(bool)] = "id_stored_as_number"
        is18 = text.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).astype(bool)
    if not is18.all():
        scientific = text.str.fullmatch(r"[0-9](\.[0-9]+)?E\+?[0-9]+").fillna(False).astype(bool)
        errors[scientific & errors.isna()] = "id_stored_as_number"
        is15 = text.str.fullmatch(r"[0-9]{15}").fillna(False).astype(bool)
        errors[text.notna() & ~is18 & ~is15 & errors.isna()] = "id_format"
    else:
        is15 = pd.Series(False, index=raw.index)

    result = pd.Series(pd.NA, index=raw.index, dtype="string[pyarrow]")
    ok = errors.isna()
    if (is15 & ok).any():
        old = text[is15 & ok]
        first17 = old.str.slice(0, 6) + "19" + old.str.slice(6, 15)
        result[old.index] = first17 + ric_check_chars(first17)
    if (is18 & ok).any():
        new = text[is18 & ok]
        chars = char_matrix(new, 18)
        # float32 @ float32 goes to BLAS: exact here (every sum below 2**24) and far faster than int64.
        weighted = chars[:, :17].astype(np.float32) @ _RIC_WEIGHTS.astype(np.float32) - 48.0 * float(_RIC_WEIGHTS.sum())
        expected = _RIC_CHECK_BYTES[weighted.astype(np.int64) % 11]
        good = chars[:, 17] == expected
        bad_index = new.index[~good]
        if len(bad_index):
            lost = new[bad_index].str.endswith("000").fillna(False).astype(bool).to_numpy()
            errors[bad_index[lost]] = "id_digits_lost"
            errors[bad_index[~lost]] = "id_checksum"
        if good.all() and len(new) == len(result):
            result = new
        else:
            result[new.index[good]] = new[good]
    converted = result.notna()
    if converted.any():
        births = result[converted].str.slice(6, 14)
        codes, days = pd.factorize(births)  # a few tens of thousands of distinct birth days at most
        day = pd.to_datetime(pd.Series(days, dtype=object), format="%Y%m%d", errors="coerce")
        today = pd.Timestamp(config.local_now().date())
        bad_day = (day.isna() | (day < pd.Timestamp("1900-01-01")) | (day > today)).to_numpy()
        bad_birth = pd.Series(bad_day[codes], index=births.index)
        errors[bad_birth[bad_birth].index] = "id_birth_date"
        result[bad_birth[bad_birth].index] = pd.NA
    return Parsed(result, errors)


# --- unified social credit codes (GB 32100) --------------------------------------------------


@functools.lru_cache(maxsize=262_144)
def _parse_uscc_one(value: Any) -> tuple[str | None, str | None]:
    """Cached: the same enterprises report every day, and checking a code's check character is the
    dearest parse of a report file (a third of loading a scale-20 city's daily reports)."""
    text = clean_scalar(value)
    if text is None:
        return None, None
    text = text.replace(" ", "").upper()
    try:
        return stdnum_uscc.validate(text), None
    except Exception:
        return None, "uscc_invalid"


def parse_uscc(raw: pd.Series) -> Parsed:
    return parse_uniques(raw, _parse_uscc_one)


# --- phones -----------------------------------------------------------------------------------


MOBILE = r"1[3-9][0-9]{9}"


def parse_phone(raw: pd.Series) -> Parsed:
    """Mobile numbers as 11 digits; landlines as 0AA(A)-NNNNNNNN; +86, spaces, dashes dropped."""
    if is_text_dtype(raw) and raw.str.fullmatch(MOBILE).fillna(True).all():  # the usual column, already clean
        return Parsed(raw.astype("string[pyarrow]"), no_error_codes(raw.index))
    text = clean_text(raw)
    if text.str.fullmatch(MOBILE).fillna(True).all():  # mobile numbers only, once cleaned
        return Parsed(text, no_error_codes(raw.index))
    digits = text.str.replace(r"[ \t\-()（）.]", "", regex=True).str.replace(r"^(\+86|0086)", "", regex=True)
    digits = digits.where(~digits.str.fullmatch(r"861[3-9][0-9]{9}").fillna(False).astype(bool), digits.str.slice(2))
    mobile = digits.str.fullmatch(MOBILE).fillna(False).astype(bool)
    landline = digits.str.fullmatch(r"0[0-9]{9,11}").fillna(False).astype(bool)
    local = digits.str.fullmatch(r"[2-9][0-9]{7}").fillna(False).astype(bool)
    values = digits.where(mobile | local)
    if landline.any():
        land = digits[landline]
        three = land.str.match(r"0(10|2[0-9])").fillna(False).astype(bool)
        values[landline] = land.where(~three, land.str.slice(0, 3) + "-" + land.str.slice(3)).where(
            three, land.str.slice(0, 4) + "-" + land.str.slice(4))
    errors = no_error_codes(raw.index)
    errors[(text.notna() & values.isna()).astype(bool)] = "phone_invalid"
    return Parsed(values, errors)


# --- dates and times --------------------------------------------------------------------------

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MD = re.compile(r"^(\d{1,2})\s*[月/.-]\s*(\d{1,2})(?:\s*日|(?=\s|$))")
_TIME = re.compile(r"(\d{1,2})\s*[:时點点]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2}))?")
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
# A time with its UTC offset, ISO style: T09:30Z, T09:30+08:00, or with seconds 09:30:00 +0800 (not "10:00-12:00").
_OFFSET = re.compile(r"(?:T\d{1,2}:\d{2}(?::\d{2})?|\d:\d{2}:\d{2})(?:\.\d+)?\s*(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)

# A parsed date before year inference: (year or None, month, day, time-of-day or None)
DateParts = tuple[int | None, int, int, time | None]


def _date_parts(value: Any) -> DateParts | str:
    """Split one raw cell into date parts, or return an error code."""
    if isinstance(value, datetime):
        value = _local(value)
        return value.year, value.month, value.day, value.time()
    if isinstance(value, date):
        return value.year, value.month, value.day, None
    if isinstance(value, pd.Timestamp):
        return value.year, value.month, value.day, value.time()
    if isinstance(value, time):
        return "date_invalid"  # an Excel time cell: a time of day on no particular day
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 < value < 80000:
            moment = EXCEL_EPOCH + timedelta(days=float(value))
            moment = moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
            has_time = not float(value).is_integer()
            return moment.year, moment.month, moment.day, moment.time() if has_time else None
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = clean_scalar(value)
    if text is None:
        return "empty"
    if _SERIAL.match(text):
        return _date_parts(float(text))
    if m := _COMPACT.match(text):
        return int(m[1]), int(m[2]), int(m[3]), None
    clock: time | None = None
    year: int | None
    if m := _YMD.match(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        rest = text[m.end():]
        if _OFFSET.search(rest):
            return _instant(text)
    elif m := _MD.match(text):
        # 2月10日, 2/10 or 2-10, perhaps with a time: the year comes from elsewhere (parse_date_column)
        year, month, day = None, int(m[1]), int(m[2])
        rest = text[m.end():]
    else:
        return _free_form_date(text)
    if rest.strip():
        t = _TIME.search(rest)
        if not t:
            return "date_invalid"
        hour, minute, second = int(t[1]), int(t[2]), int(t[3] or 0)
        if "下午" in rest and hour < 12:
            hour += 12
        if hour > 23 or minute > 59 or second > 59:
            return "date_invalid"
        clock = time(hour, minute, second)
    return year, month, day, clock


def _local(moment: datetime) -> datetime:
    """A moment given with its UTC offset, as the local wall-clock time every other time is stored in."""
    return moment if moment.tzinfo is None else moment.astimezone(config.TIMEZONE).replace(tzinfo=None)


def _instant(text: str) -> DateParts | str:
    """A timestamp with its offset (form tools export 2020-02-12T17:30:00Z): local date and time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = dateutil_parser.parse(text)
        except (ValueError, OverflowError, TypeError):
            return "date_invalid"
    moment = _local(moment)
    return moment.year, moment.month, moment.day, moment.time()


def _free_form_date(text: str) -> DateParts | str:
    """Other spellings ("Feb 10, 2020 9:30"), read by dateutil.  What the text leaves out must not be filled
    in from today: a text without a day ("9:30") is invalid, one without a year takes it from elsewhere."""
    try:
        a = dateutil_parser.parse(text, default=datetime(2000, 1, 1))
        b = dateutil_parser.parse(text, default=datetime(2004, 2, 2))
    except (ValueError, OverflowError, TypeError):
        return "date_invalid"
    if (a.month, a.day) != (b.month, b.day):
        return "date_invalid"
    return (a.year if a.year == b.year else None), a.month, a.day, a.time()


def parse_day(text: str) -> date:
    """One day a person types (a command's --date), in any spelling a spreadsheet may use, year included.

    Raises ValueError saying what to type instead."""
    parts = _date_parts(text)
    if isinstance(parts, tuple) and parts[0] is not None:
        try:
            return date(parts[0], parts[1], parts[2])
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a day of the calendar: give it as 2020-02-28 (2020/2/28 or 2020年2月28日 work too)")


def parse_date_column(raw: pd.Series, file_year: int | None | Callable[[], int | None], *, with_time: bool = False) -> Parsed:
    """Dates in every spelling of docs/sources.md#dates; a date without a year takes the column's, else the file's.

    ``file_year`` may be a function, called only for a column whose dates lack a year and give none.
    """
    codes, items = factorize_values(raw)
    parts = [_date_parts(item) for item in items]
    counts = np.bincount(codes[codes >= 0], minlength=len(items)) if len(items) else []
    years: Counter[int] = Counter()
    for p, n in zip(parts, counts):
        if isinstance(p, tuple) and p[0] is not None:
            years[p[0]] += int(n)
    if years:
        year = years.most_common(1)[0][0]
    elif any(isinstance(p, tuple) and p[0] is None for p in parts):
        year = (file_year() if callable(file_year) else file_year) or config.CAMPAIGN_YEAR
    else:
        year = config.CAMPAIGN_YEAR  # unused: every date gives its year

    def finish(p: Any) -> tuple[Any, str | None]:
        if p is None or p == "empty":
            return None, None
        if isinstance(p, str):
            return None, "datetime_invalid" if with_time else "date_invalid"
        y, m, d, clock = p
        try:
            day = date(y if y is not None else year, m, d)
        except ValueError:
            return None, "datetime_invalid" if with_time else "date_invalid"
        if not with_time:
            return day, None
        return datetime.combine(day, clock or time()), None

    return parsed_from_uniques(codes, [finish(p) for p in parts], raw.index)


def explicit_years(raw: pd.Series) -> Counter[int]:
    """Years written out in a date column (used to date "2月10日" elsewhere in the file)."""
    out: Counter[int] = Counter()
    values = raw.dropna()
    counts = values.value_counts() if is_text_dtype(raw) else values.astype(str).groupby(values.map(repr)).size()
    firsts = values.groupby(values.map(repr)).first() if not is_text_dtype(raw) else None
    for key, count in counts.items():
        parts = _date_parts(firsts[key] if firsts is not None else key)
        if isinstance(parts, tuple) and parts[0] is not None:
            out[parts[0]] += int(count)
    return out


# --- small vocabularies -----------------------------------------------------------------------

_YES = frozenset(S.YES)
_NO = frozenset(S.NO)


def _parse_bool_one(value: Any) -> tuple[bool | None, str | None]:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    text = clean_scalar(value)
    if text is None:
        return None, None
    key = text.lower().replace(" ", "")
    if key in _YES:
        return True, None
    if key in _NO:
        return False, None
    return None, "bool_invalid"


def _parse_int_one(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, bool):
        return None, "int_invalid"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or not value.is_integer()):
            return (None, None) if math.isnan(value) else (None, "int_invalid")
        return (int(value), None) if value >= 0 else (None, "int_invalid")
    text = clean_scalar(value)
    if text is None:
        return None, None
    text = re.sub(r"[\s,人名个位]", "", text)
    if re.fullmatch(r"\d+(\.0+)?", text):
        return int(float(text)), None
    return None, "int_invalid"


def _parse_float_one(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool):
        return None, "float_invalid"
    if isinstance(value, (int, float)):
        return (None, None) if isinstance(value, float) and math.isnan(value) else (float(value), None)
    text = clean_scalar(value)
    if text is None:
        return None, None
    text = re.sub(r"[\s℃°cC度]", "", text)
    try:
        return float(text), None
    except ValueError:
        return None, "float_invalid"


def _vocabulary(canonical: tuple[str, ...], aliases: dict[str, str], error: str) -> Callable[[Any], tuple[str | None, str | None]]:
    def parse_one(value: Any) -> tuple[str | None, str | None]:
        text = clean_scalar(value)
        if text is None:
            return None, None
        text = text.replace(" ", "")
        if text in canonical:
            return text, None
        if text in aliases:
            return aliases[text], None
        return None, error

    return parse_one


_kind_by_alias = _vocabulary(S.ENTERPRISE_KINDS, S.KIND_ALIASES, "kind_invalid")


def _parse_kind_one(value: Any) -> tuple[str | None, str | None]:
    """企业 / 沿街商铺 / 个体工商户; a market-regulator export gives the legal form instead (有限责任公司（自然人
    投资或控股）, 股份有限公司（非上市）, 个人独资企业 …): those are 企业, and 个体工商户 in any wording stays one."""
    kind, error = _kind_by_alias(value)
    if error is None:
        return kind, None
    text = (clean_scalar(value) or "").replace(" ", "")
    if "个体" in text:
        return "个体工商户", None
    if any(word in text for word in S.LEGAL_FORM_WORDS):
        return "企业", None
    return None, error


def _parse_code_one(value: Any) -> tuple[str | None, str | None]:
    text = clean_scalar(value)
    if text is None:
        return None, None
    text = text.replace(" ", "")
    if re.fullmatch(r"\d{6}(\d{3}){0,2}", text):
        return text, None
    return None, "code_invalid"


def _parse_level_one(value: Any) -> tuple[str | None, str | None]:
    text = clean_scalar(value)
    if text is None:
        return None, None
    text = text.replace(" ", "")
    if text in ("city", "district", "street", "community"):
        return text, None
    return (S.LEVEL_ALIASES[text], None) if text in S.LEVEL_ALIASES else (None, "level_invalid")


SCALAR_PARSERS: dict[str, Callable[[Any], tuple[Any, str | None]]] = {
    S.BOOL: _parse_bool_one,
    S.INT: _parse_int_one,
    S.FLOAT: _parse_float_one,
    S.QUARANTINE: _vocabulary(S.QUARANTINE_STATES, S.QUARANTINE_ALIASES, "quarantine_invalid"),
    S.KIND: _parse_kind_one,
    S.CODE: _parse_code_one,
    S.LEVEL: _parse_level_one,
    S.DISTRICT: lambda v: (clean_scalar(v), None),
    S.STREET: lambda v: (clean_scalar(v), None),
}
COLUMN_PARSERS: dict[str, Callable[[pd.Series], Parsed]] = {
    S.TEXT: parse_text,
    S.NAME: parse_name,
    S.ID_NUMBER: parse_id_number,
    S.USCC: parse_uscc,
    S.PHONE: parse_phone,
}


def parse_column(parser: str, raw: pd.Series, file_year: int | None | Callable[[], int | None]) -> Parsed:
    if parser in COLUMN_PARSERS:
        return COLUMN_PARSERS[parser](raw)
    if parser == S.DATE:
        return parse_date_column(raw, file_year)
    if parser == S.DATETIME:
        return parse_date_column(raw, file_year, with_time=True)
    return parse_uniques(raw, SCALAR_PARSERS[parser])
