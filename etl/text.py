"""Cell text: what counts as empty, cleaning, the keys headers and names are compared by, and
parsing over the distinct values of a column (a column of a million rows has a few thousand).

The shared ground of etl.normalise (values) and etl.read (headers).
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EMPTY_MARKERS = frozenset({"", "-", "--", "—", "/", "nan", "none", "null", "n/a", "#n/a"})


@dataclass
class Parsed:
    values: pd.Series
    errors: pd.Series  # error code per row, None where fine


def is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def first_present(series: pd.Series) -> Any:
    """The first value that is not missing, or None; usually found in the first rows without scanning all."""
    for part in (series.iloc[:1000], series.iloc[1000:]):
        present = part.dropna()
        if len(present):
            return present.iloc[0]
    return None


def no_error_codes(index: pd.Index) -> pd.Series:
    return pd.Series(None, index=index, dtype=object)


# --- text -----------------------------------------------------------------------------------

CONTROL_CHARACTERS = r"[\x00-\x08\x0e-\x1f\x7f]"
"""C0 control characters and DEL, removed from every cell: a NUL cuts a name in SQLite and makes
PostgreSQL refuse the whole file.  Tab, line feed, vertical tab, form feed and carriage return are
whitespace and become one space where whitespace is folded."""
_CONTROLS = re.compile(CONTROL_CHARACTERS)
_SPACES = re.compile(r"\s+")
_HEADER_JUNK = re.compile(r"[\s*＊:：#]+")
_TRAILING_UNIT = re.compile(r"[(\[【].*?[)\]】]$")


def strip_controls(text: str) -> str:
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


def _has_control_bytes(data: pa.Buffer | None) -> bool:
    if data is None:
        return False
    octets = np.frombuffer(data, np.uint8)
    low = octets[(octets < 0x20) | (octets == 0x7F)]
    return bool(len(low)) and bool(((low < 0x09) | (low > 0x0D)).any())


def strip_controls_arrow(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``strip_controls`` over an Arrow string array, in Arrow's C++ kernels.

    Its bytes are looked at first (a control byte is never part of another character in UTF-8), so
    that the usual column without any costs a scan, not a rewrite."""
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    if not any(_has_control_bytes(chunk.buffers()[2]) for chunk in chunks):
        return array
    return pc.replace_substring_regex(array, pattern=CONTROL_CHARACTERS, replacement="")


def strip_controls_column(column: pd.Series) -> pd.Series:
    """``strip_controls`` over a column of cells: Arrow text columns in C++, other text cells one by one."""
    if is_text_dtype(column):
        stripped = strip_controls_arrow(column.astype("string[pyarrow]").array._pa_array)
        return pd.Series(pd.arrays.ArrowStringArray(stripped), index=column.index, dtype="string[pyarrow]")
    return column.map(lambda v: strip_controls(v) if isinstance(v, str) else v)


def clean_scalar(value: Any) -> str | None:
    """Control characters removed, NFKC (full-width → half-width, \\u3000 and NBSP → space), trimmed, empties → None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", strip_controls(str(value)))).strip()
    return None if text.lower() in EMPTY_MARKERS else text


@functools.lru_cache(maxsize=65_536)
def header_key(value: Any) -> str:
    """The form in which header spellings are compared: case, spaces, width and units ignored."""
    text = clean_scalar(value) or ""
    text = _HEADER_JUNK.sub("", text).lower()
    previous = None
    while previous != text:
        previous, text = text, _TRAILING_UNIT.sub("", text)
    return text


def name_key(value: str | None) -> str | None:
    """Identity key of a building or enterprise name within its street."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).lower()
    return re.sub(r"[\s·・.,，、()（）\-]", "", text) or None


def is_text_dtype(series: pd.Series) -> bool:
    """Columns read from CSV hold only strings (Arrow-backed): no per-cell type checks needed."""
    return pd.api.types.is_string_dtype(series.dtype) and series.dtype != object


def _integral_floats_as_text(raw: pd.Series) -> pd.Series:
    """Excel stores 13800138000 as 13800138000.0: render integral numbers without the '.0'."""
    s = raw.astype(object)
    numeric = s.map(lambda v: isinstance(v, float) and not math.isnan(v) and v.is_integer())
    if numeric.any():
        s = s.where(~numeric, s[numeric].map(lambda v: str(int(v))))
    return s


def clean_text(raw: pd.Series, then: Callable[[pd.Series], pd.Series] | None = None) -> pd.Series:
    """Vectorised clean_scalar; returns an Arrow string column.  Work is done once per distinct value,
    ``then`` (a further clean-up of the text) included."""
    finish = then or (lambda text: text)
    if is_text_dtype(raw) and _mostly_distinct(raw):
        return finish(_clean_arrow(raw.astype("string[pyarrow]")))
    if is_text_dtype(raw):
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        text = pd.Series(uniques, dtype="string[pyarrow]")
    else:
        s = _integral_floats_as_text(raw)
        missing = s.map(is_missing)
        codes, uniques = pd.factorize(s.where(~missing, None).map(lambda v: None if v is None else str(v)), use_na_sentinel=True)
        text = pd.Series(list(uniques), dtype="string[pyarrow]")
    taken = finish(_clean_arrow(text)).array.take(codes, allow_fill=True)
    return pd.Series(taken, index=raw.index, dtype="string[pyarrow]")


def _clean_arrow(text: pd.Series) -> pd.Series:
    """Control characters removed, NFKC, whitespace runs to one space, trimmed, empty markers to
    missing — in Arrow's C++ kernels."""
    arr = strip_controls_arrow(text.array._pa_array)
    arr = pc.utf8_normalize(arr, form="NFKC")
    arr = pc.replace_substring_regex(arr, pattern=r"[ \t\r\n\f\v]+", replacement=" ")
    arr = pc.utf8_trim_whitespace(arr)
    empty = pc.is_in(pc.utf8_lower(arr), value_set=pa.array(sorted(EMPTY_MARKERS)))
    arr = pc.if_else(empty, pa.scalar(None, arr.type), arr)
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=text.index, dtype="string[pyarrow]")


def _mostly_distinct(raw: pd.Series) -> bool:
    """ID numbers and phones: factorising first would cost more than it saves."""
    sample = raw.iloc[:20_000]
    return len(raw) > 50_000 and sample.nunique() > 0.5 * len(sample)


def map_unique(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """Apply a scalar function once per distinct value (missing stays missing)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [fn(u) for u in uniques]
    mapped[-1] = None
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def parse_text(raw: pd.Series) -> Parsed:
    return Parsed(clean_text(raw), no_error_codes(raw.index))


def parse_name(raw: pd.Series) -> Parsed:
    """Names lose the spaces people type between Chinese characters ("张 三" → "张三")."""
    return Parsed(clean_text(raw, then=_join_chinese), no_error_codes(raw.index))


def _join_chinese(text: pd.Series) -> pd.Series:
    spaced = text.str.contains(" ", regex=False).fillna(False).astype(bool)
    if not spaced.any():
        return text
    has_cjk = spaced & text.str.contains("[一-鿿]", regex=True).fillna(False).astype(bool)
    return text.where(~has_cjk, text.str.replace(" ", "", regex=False))


def factorize_values(raw: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes per row (-1 for missing) and the distinct cell values."""
    if is_text_dtype(raw):
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        return codes, list(uniques)
    try:
        numbers = pa.array(raw.to_numpy(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        numbers = None
    if numbers is not None and pa.types.is_floating(numbers.type):
        codes, uniques = pd.factorize(numbers.to_numpy(zero_copy_only=False), use_na_sentinel=True)
        return codes, uniques.tolist()
    # 1, 1.0 and True are equal in Python but not as cells: keep the type in the key.
    keys = raw.map(lambda v: None if is_missing(v) else (type(v).__name__, v))
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    return codes, [key[1] for key in uniques]


def parsed_from_uniques(codes: np.ndarray, per_item: list[tuple[Any, str | None]], index: pd.Index) -> Parsed:
    values = np.empty(len(per_item) + 1, dtype=object)
    errors = np.empty(len(per_item) + 1, dtype=object)
    values[-1], errors[-1] = None, None
    for i, (value, error) in enumerate(per_item):
        values[i], errors[i] = value, error
    return Parsed(pd.Series(values[codes], index=index, dtype=object), pd.Series(errors[codes], index=index, dtype=object))


def parse_uniques(raw: pd.Series, parse_one: Callable[[Any], tuple[Any, str | None]]) -> Parsed:
    """Parse each distinct value once; the column is then a lookup."""
    codes, items = factorize_values(raw)
    return parsed_from_uniques(codes, [parse_one(item) for item in items], raw.index)
