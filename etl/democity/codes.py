"""Valid identity numbers, made in bulk with NumPy.

* Resident IDs (GB 11643): 6-digit area code + birth date YYYYMMDD + 3-digit sequence + ISO 7064
  MOD 11-2 check character.  The area codes come from python-stdnum's own table of county codes
  (with the years each code was in use), so every ID passes ``stdnum.cn.ric.validate``.
* Unified social credit codes (GB 32100): registration authority (9 = market regulation) +
  entity type (1 enterprise, 2 individual business) + 6-digit district code + 9-character
  organisation code (GB 11714, itself with a check character) + MOD 31 check character, as
  ``stdnum.cn.uscc.calc_check_digit`` computes it.
"""
from __future__ import annotations

import os
from datetime import date
from functools import lru_cache

import numpy as np

# --- resident IDs ------------------------------------------------------------------------------

RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
RIC_CHECK = np.array(list("10X98765432"))


def ric_check(first17: np.ndarray) -> np.ndarray:
    """Check characters for an (n, 17) array of digits."""
    return RIC_CHECK[(first17.astype(np.int64) @ RIC_WEIGHTS) % 11]


def digits_to_str(digits: np.ndarray) -> np.ndarray:
    """(n, k) digit array → array of k-character strings."""
    if len(digits) == 0:
        return np.array([], dtype=f"<U{digits.shape[1] if digits.ndim == 2 else 1}")
    k = digits.shape[1]
    return (digits.astype(np.uint8) + 48).view(f"S{k}").ravel().astype(f"<U{k}")


def int_digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers → (n, width) array of their decimal digits, zero-padded."""
    values = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


@lru_cache(maxsize=1)
def _county_table() -> dict[str, list[tuple[int, int]]]:
    """Area code → list of (first year, last year) it was valid, from stdnum's cn/loc.dat."""
    import stdnum

    path = os.path.join(os.path.dirname(stdnum.__file__), "cn", "loc.dat")
    table: dict[str, list[tuple[int, int]]] = {}
    province = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            if not line.startswith(" "):
                province = line.split()[0]
                continue
            part = line.strip()
            sub = part.split()[0]
            if province is None or len(sub) != 4 or sub.endswith("00"):
                continue
            value = part.split('county="', 1)[1].rstrip('"')
            spans = []
            for county in value.split(","):
                if county.startswith("["):
                    startend = county[1:].split("]")[0]
                    start, end = startend.split("-")
                    spans.append((int(start) if start else 1900, int(end) if end else 2100))
                else:
                    spans.append((1900, 2100))
            table[province + sub] = spans
    return table


@lru_cache(maxsize=1)
def _codes_by_prefix() -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for code in sorted(_county_table()):
        for k in (2, 4):
            index.setdefault(code[:k], []).append(code)
    return index


@lru_cache(maxsize=4096)
def _codes_valid_in(prefixes: tuple[str, ...], year: int) -> tuple[str, ...]:
    table, index = _county_table(), _codes_by_prefix()
    found = {code for p in prefixes for code in index.get(p, ())
             if code.startswith(p) and any(a <= year <= b for a, b in table[code])}
    return tuple(sorted(found))


def area_codes_valid_in(prefixes: list[str], year: int) -> list[str]:
    """County codes starting with one of ``prefixes`` that were in use in ``year``."""
    return list(_codes_valid_in(tuple(prefixes), int(year)))


def resident_ids(rng: np.random.Generator, prefixes_per_origin: list[list[str]], origin_idx: np.ndarray,
                 birth: np.ndarray) -> np.ndarray:
    """18-character IDs as an (n, 17) digit array (the check character is ``ric_check`` of it).

    ``birth`` is an array of datetime64[D].  The area code of each person is drawn among the
    codes of their origin's prefixes that were in use in their birth year.
    """
    n = len(origin_idx)
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    area = np.zeros(n, dtype=np.int64)
    group = origin_idx.astype(np.int64) * 1000 + (years - 1900)
    keys, inverse = np.unique(group, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    draws = rng.random(n)
    for g, key in enumerate(keys.tolist()):
        o, y = divmod(key, 1000)
        y += 1900
        codes = area_codes_valid_in(prefixes_per_origin[o], y)
        if not codes:  # fall back to the province's codes of that year
            codes = area_codes_valid_in([p[:2] for p in prefixes_per_origin[o]], y)
        if not codes:
            codes = area_codes_valid_in(["31"], y)
        sel = order[bounds[g]:bounds[g + 1]]
        table = np.array(codes, dtype=np.int64)
        area[sel] = table[(draws[sel] * len(table)).astype(np.int64)]
    days = birth.astype("datetime64[D]")
    y = days.astype("datetime64[Y]")
    m = days.astype("datetime64[M]")
    birth_num = ((y.astype(np.int64) + 1970) * 10000 + (m - y.astype("datetime64[M]")).astype(np.int64) * 100 + 100
                 + (days - m.astype("datetime64[D]")).astype(np.int64) + 1)
    seq = rng.integers(1, 1000, n)
    return np.hstack([int_digits(area, 6), int_digits(birth_num, 8), int_digits(seq, 3)])




def old_ids(first17: np.ndarray) -> np.ndarray:
    """The 15-digit first-generation form (area + YYMMDD + sequence) of IDs born in the 1900s."""
    old = np.hstack([first17[:, :6], first17[:, 8:17]])
    return digits_to_str(old)


# --- unified social credit codes ----------------------------------------------------------------

USCC_ALPHABET = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


ORG_VALUES = np.array([int(c) if c.isdigit() else ord(c) - 55 for c in USCC_ALPHABET], dtype=np.int64)


def usccs(rng: np.random.Generator, type_digit: np.ndarray, district: np.ndarray) -> np.ndarray:
    """USCC strings: '9' + type + district + organisation code (8 + check) + check."""
    n = len(type_digit)
    if n == 0:
        return np.array([], dtype="<U18")
    idx = np.zeros((n, 17), dtype=np.int64)
    idx[:, 0] = 9
    idx[:, 1] = type_digit
    idx[:, 2:8] = int_digits(district.astype(np.int64), 6)
    # organisation code body: new-style "MA1xxxxx" (alphanumeric) or old 8-digit numbers
    new_style = rng.random(n) < 0.7
    body = rng.integers(0, 10, (n, 8))
    alnum = rng.integers(0, len(USCC_ALPHABET), (n, 5))
    body_new = np.hstack([np.full((n, 1), 21), np.full((n, 1), 10), np.full((n, 1), 1), alnum])  # M A 1
    body = np.where(new_style[:, None], body_new, body)
    idx[:, 8:16] = body
    total = (ORG_VALUES[body] * ORG_WEIGHTS).sum(axis=1)
    c9 = 11 - total % 11
    org_check = np.where(c9 == 11, 0, np.where(c9 == 10, np.flatnonzero(USCC_ALPHABET == "X")[0], c9))
    idx[:, 16] = org_check
    check = (31 - (idx @ USCC_WEIGHTS) % 31) % 31
    chars = USCC_ALPHABET[np.hstack([idx, check[:, None]])]
    return np.ascontiguousarray(chars).view("<U18").ravel()


def uscc_with_wrong_check(code: str) -> str:
    """The same code with a wrong (but well-formed) check character."""
    alphabet = "".join(USCC_ALPHABET)
    i = alphabet.index(code[-1])
    return code[:-1] + alphabet[(i + 7) % 31]


def excel_serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days
