"""How real spreadsheets spell things (docs/sources.md#what-real-spreadsheets-do): dates, yes/no, phones, padding, full-width digits.

Every speller takes clean column values and returns cell values for one target: ``"xlsx"`` /
``"xls"`` (typed cells: str, int, float, bool, date, datetime) or ``"csv"`` (strings only).
Missing values stay ``None``.  Work is done once per distinct value where values repeat (dates,
booleans) and with NumPy string operations elsewhere, so a million-row column takes seconds.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from etl.democity.codes import excel_serial

FULL_WIDTH = str.maketrans("0123456789-+", "０１２３４５６７８９－＋")
NBSP = "\xa0"
IDEO_SPACE = "\u3000"

# Date spellings (index = style number)
DATE_STYLES = ("iso", "slash", "dot", "cn", "compact", "md", "serial", "cell", "slash0")
DATETIME_STYLES = ("iso", "slash", "dot", "cn", "cn_hm", "afternoon", "serial", "cell")
BOOL_STYLES = (("是", "否"), ("已", "未"), ("Y", "N"), ("√", "×"), (1, 0), (True, False), ("已复工", "未复工"), ("y", "n"))


def _spell_date(d: date, style: str, target: str):
    if style == "iso":
        return d.isoformat()
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "slash0":
        return f"{d.year}/{d.month:02d}/{d.day:02d}"
    if style == "dot":
        return f"{d.year}.{d.month}.{d.day}"
    if style == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if style == "compact":
        s = f"{d.year}{d.month:02d}{d.day:02d}"
        return int(s) if target != "csv" else s
    if style == "md":
        return f"{d.month}月{d.day}日"
    if style == "serial":
        n = excel_serial(d)
        return n if target != "csv" else str(n)
    if style == "cell":
        return d if target != "csv" else d.isoformat()
    raise ValueError(style)


def _spell_datetime(t: datetime, style: str, target: str):
    if style == "iso":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if style == "slash":
        return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"
    if style == "dot":
        return f"{t.year}.{t.month}.{t.day} {t.hour:02d}:{t.minute:02d}"
    if style == "cn":
        return f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}"
    if style == "cn_hm":
        return f"{t.year}年{t.month}月{t.day}日 {t.hour}时{t.minute}分"
    if style == "afternoon":
        if t.hour >= 13:
            return f"{t.year}/{t.month}/{t.day} 下午{t.hour - 12}:{t.minute:02d}"
        return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"
    if style == "serial":
        frac = (t.hour * 3600 + t.minute * 60 + t.second) / 86400
        value = round(excel_serial(t.date()) + frac, 6)
        return value if target != "csv" else f"{value:.6f}"
    if style == "cell":
        return t if target != "csv" else t.strftime("%Y-%m-%d %H:%M:%S")
    raise ValueError(style)


def styles_for(rng: np.random.Generator, n: int, main: int, others: tuple[int, ...], p_other: float) -> np.ndarray:
    """A style per row: the file's main spelling, a few rows in other spellings."""
    style = np.full(n, main, dtype=np.int64)
    if others and p_other > 0:
        flip = rng.random(n) < p_other
        style[flip] = np.array(others)[rng.integers(0, len(others), int(flip.sum()))]
    return style


def spell_dates(values: np.ndarray, style: np.ndarray, target: str, with_time: bool = False) -> np.ndarray:
    """datetime64 values (NaT = missing) → cell values in each row's style."""
    values = np.asarray(values)
    out = np.full(len(values), None, dtype=object)
    present = ~np.isnat(values)
    if not present.any():
        return out
    names = DATETIME_STYLES if with_time else DATE_STYLES
    unit = "s" if with_time else "D"
    keys = values.astype(f"datetime64[{unit}]").astype(np.int64)[present]
    combo = keys * 16 + style[present]
    uniq, inverse = np.unique(combo, return_inverse=True)
    spelled = np.empty(len(uniq), dtype=object)
    for i, c in enumerate(uniq.tolist()):
        k, s = divmod(c, 16)
        if with_time:
            spelled[i] = _spell_datetime(datetime(1970, 1, 1) + timedelta(seconds=k), names[s], target)
        else:
            spelled[i] = _spell_date(date(1970, 1, 1) + timedelta(days=k), names[s], target)
    out[present] = spelled[inverse]
    return out


def spell_bools(values: np.ndarray, style: int, target: str) -> np.ndarray:
    """int8 (1 yes, 0 no, -1 missing) → cells in one yes/no vocabulary."""
    yes, no = BOOL_STYLES[style]
    if target == "csv":
        yes, no = ("TRUE", "FALSE") if yes is True else (str(yes), str(no))
    out = np.full(len(values), None, dtype=object)
    out[values == 1] = yes
    out[values == 0] = no
    return out


def spell_ints(values: np.ndarray, target: str, rng: np.random.Generator, p_odd: float = 0.05,
               unit: str = "人") -> np.ndarray:
    """Non-negative ints (-1 = missing) → numbers, or strings such as "50", "50人", "５０"."""
    values = np.asarray(values, dtype=np.int64)
    out = np.full(len(values), None, dtype=object)
    present = values >= 0
    if target == "csv":
        out[present] = values[present].astype(str).astype(object)
    else:
        out[present] = values[present].tolist()
    odd = present & (rng.random(len(values)) < p_odd)
    if odd.any():
        kind = rng.integers(0, 3, int(odd.sum()))
        strs = values[odd].astype(str)
        strs = np.where(kind == 0, np.char.add(strs, unit), strs)
        strs = np.array([s.translate(FULL_WIDTH) if k == 1 else s for s, k in zip(strs.tolist(), kind.tolist())],
                        dtype=object)
        if target != "csv":
            floats = values[odd].astype(float).tolist()
            strs = np.array([f if k == 2 else s for s, f, k in zip(strs.tolist(), floats, kind.tolist())], dtype=object)
        out[odd] = strs
    return out


def spell_mobiles(numbers: np.ndarray, rng: np.random.Generator, p_odd: float = 0.25) -> np.ndarray:
    """11-digit mobile numbers (int64, 0 = missing) → "138 1234 5678", "+86-138…" and so on."""
    numbers = np.asarray(numbers, dtype=np.int64)
    out = np.full(len(numbers), None, dtype=object)
    present = numbers > 0
    if not present.any():
        return out
    s = numbers[present].astype(str)
    style = np.where(rng.random(len(s)) < p_odd, rng.integers(1, 7, len(s)), 0)
    add = np.char.add
    a = np.array([x[:3] for x in s.tolist()])
    b = np.array([x[3:7] for x in s.tolist()])
    c = np.array([x[7:] for x in s.tolist()])
    spaced = add(add(add(add(a, " "), b), " "), c)
    dashed = add(add(add(add(a, "-"), b), "-"), c)
    variants = [
        s,
        spaced,
        dashed,
        add("+86 ", s),
        add("+86-", dashed),
        add("0086", s),
        np.array([x.translate(FULL_WIDTH) for x in s.tolist()]),
    ]
    result = np.empty(len(s), dtype=object)
    for k, v in enumerate(variants):
        sel = style == k
        result[sel] = v[sel]
    out[present] = result
    return out


def spell_landlines(numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """8-digit Shanghai landlines (int64) → "021-62345678", "(021)62345678", "62345678"."""
    numbers = np.asarray(numbers, dtype=np.int64)
    s = numbers.astype(str)
    style = rng.integers(0, 4, len(s))
    out = np.where(style == 0, np.char.add("021-", s),
                   np.where(style == 1, np.char.add("(021)", s),
                            np.where(style == 2, np.char.add("021 ", s), s)))
    return out.astype(object)


def pad(cells: np.ndarray, rng: np.random.Generator, p: float, gbk: bool = False) -> np.ndarray:
    """Surround a few string cells with full-width spaces, NBSP or plain spaces."""
    cells = np.asarray(cells, dtype=object).copy()
    n = len(cells)
    hit = np.flatnonzero(rng.random(n) < p)
    pads = ([IDEO_SPACE, " ", IDEO_SPACE * 2] if gbk else [IDEO_SPACE, NBSP, " ", IDEO_SPACE * 2, NBSP])
    kinds = rng.integers(0, 3, len(hit))
    which = rng.integers(0, len(pads), len(hit))
    for i, k, w in zip(hit.tolist(), kinds.tolist(), which.tolist()):
        v = cells[i]
        if not isinstance(v, str) or not v:
            continue
        sp = pads[w]
        cells[i] = sp + v if k == 0 else (v + sp if k == 1 else sp + v + sp)
    return cells




def choose(rng: np.random.Generator, n: int, options: list, p: list[float] | None = None) -> np.ndarray:
    """Row-wise choice among whole column arrays: options is a list of equally long arrays."""
    idx = rng.choice(len(options), size=n, p=p)
    out = np.empty(n, dtype=object)
    for k, arr in enumerate(options):
        sel = idx == k
        out[sel] = np.asarray(arr, dtype=object)[sel]
    return out
