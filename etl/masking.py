"""How personal data is shown to someone not granted it: one rule per kind, used by every view and export.

- Names keep their first character only, every other character becomes ``*`` (张三丰 → 张**, 李四 → 李*,
  a one-character name → *).  Keeping the last character too (张*丰) tells more about a person for
  nothing a reader needs; the length is kept so that lists still line up.
- Phone numbers keep the first 3 and last 4 digits of 11 or more characters (138****8000), only the first
  2 of a shorter number (62****).
- Resident IDs keep the first 6 and the last 4 characters (310105********1234), as they are stored.
- A contact person and their phone (a building owner's, an enterprise's) follow the name and phone rules
  (``as_shown``); who sees which unmasked is dashboard.access's decision.
- Free text (notes, reasons, form bodies) has every resident ID and mobile number inside it masked by
  the same two rules, since a person may type one anywhere.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, overload

ID_HEAD, ID_TAIL = 6, 4
"""Characters of a resident ID left visible at its start and end (etl.identity masks whole columns by it)."""
_ID_LIKE = re.compile(r"(?<![0-9])[0-9]{6}(?:[0-9]{5}|[0-9]{8})(?:[0-9]{3}[0-9Xx]|[0-9]{4})(?![0-9])")
_MOBILE_LIKE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_FULLWIDTH_DIGIT = re.compile("[\uff10-\uff19]")


@overload
def mask_name(name: str) -> str: ...
@overload
def mask_name(name: None) -> None: ...
def mask_name(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*" * len(name)


@overload
def mask_phone(phone: str) -> str: ...
@overload
def mask_phone(phone: None) -> None: ...
def mask_phone(phone: str | None) -> str | None:
    if phone is None:
        return None
    phone = phone.strip()
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else phone[:2] + "****"


def as_shown(name: str | None, phone: str | None, unmasked: bool) -> tuple[str | None, str | None]:
    """A contact person and their phone as a viewer sees them: as stored when ``unmasked``, else masked."""
    return (name, phone) if unmasked else (mask_name(name), mask_phone(phone))


@overload
def mask_id(value: str) -> str: ...
@overload
def mask_id(value: None) -> None: ...
def mask_id(value: str | None) -> str | None:
    """First 6 and last 4 characters kept; a value of 10 characters or fewer is hidden entirely."""
    if value is None:
        return None
    compact = unicodedata.normalize("NFKC", value).replace(" ", "").upper()
    if len(compact) <= ID_HEAD + ID_TAIL:
        return "*" * len(compact)
    return compact[:ID_HEAD] + "*" * (len(compact) - ID_HEAD - ID_TAIL) + compact[-ID_TAIL:]


def mask_text(value: str) -> str:
    """Any resident ID or mobile number inside free text, masked as ``mask_id`` and ``mask_phone`` mask them."""
    if _FULLWIDTH_DIGIT.search(value):
        value = unicodedata.normalize("NFKC", value)
    value = _ID_LIKE.sub(lambda m: mask_id(m[0]), value)
    return _MOBILE_LIKE.sub(lambda m: mask_phone(m[0]), value)


def mask_body(body: Any) -> Any:
    """A request body (any JSON shape) with every string passed through ``mask_text``."""
    if isinstance(body, dict):
        return {str(k): mask_body(v) for k, v in body.items()}
    if isinstance(body, list):
        return [mask_body(v) for v in body]
    if isinstance(body, str):
        return mask_text(body)
    return body
