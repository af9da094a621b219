"""Validate: a read table → typed canonical columns plus a report of what is wrong, row by row.

The error report is a DataFrame (idx, field, code, value, severity) in the manner of frictionless/pandera:
a typed error code per row and field, turned into a human reason by ``etl.normalise.ERRORS``.
Its severity (docs/rules.md#validation-and-rejects): an ``error`` rejects the row — a required field
is bad, or a rule that makes the row meaningless failed (``ROW_CODES``); a ``warning`` names an
optional value that failed its check, which is left empty while the row loads.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pandas as pd

from etl import config
from etl.identity import identify
from etl.normalise import parse_column
from etl.text import Parsed, map_unique
from etl.read import Table
from schemas import sources as S

ERROR_COLUMNS = ["idx", "field", "code", "value"]
ERROR, WARNING = "error", "warning"
ROW_CODES = frozenset({"required", "enterprise_missing", "future_date"})
"""Codes that reject the row whatever field they name: without the value the row means nothing."""
FUTURE_TOLERANCE = timedelta(days=1)
"""How far past the local now a 填报时间 may lie (clocks and time zones of the senders) before it is rejected."""


def no_errors() -> pd.DataFrame:
    return pd.DataFrame(columns=ERROR_COLUMNS)


def errors_where(frame: pd.DataFrame, mask: pd.Series, field: str, code: str, values: pd.Series | None = None) -> pd.DataFrame:
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return no_errors()
    shown = values if values is not None else (frame[field] if field in frame else pd.Series(None, index=frame.index))
    return pd.DataFrame({"idx": frame.index[mask.to_numpy()], "field": field, "code": code,
                         "value": shown[mask].to_numpy()})


def normalise_table(table: Table, file_year: int | None | Callable[[], int | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse every mapped column with its field's parser; raw values kept for error messages.

    Resident ID numbers come out masked, with their hash beside them (``id_hash``, ``person_key``):
    the raw number stays in the read table (see etl.identity).
    """
    raw = table.frame
    out = pd.DataFrame(index=raw.index)
    out["_row"] = raw["_row"]
    reports = []
    failed: dict[str, pd.Series] = {}

    def take(name: str, parsed: Parsed) -> None:
        out[name] = parsed.values
        bad = parsed.errors.notna()
        failed[name] = bad
        if bad.any():
            reports.append(pd.DataFrame({"idx": out.index[bad.to_numpy()], "field": name,
                                         "code": parsed.errors[bad].to_numpy(), "value": raw[name][bad].to_numpy()}))

    for field in table.kind.fields:
        if field.name not in raw:
            continue
        if field.parser == S.ID_NUMBER:
            identity = identify(raw[field.name], config.installation_secret())
            take(field.name, Parsed(identity.masked, identity.errors))
            out["id_hash"], out["person_key"] = identity.id_hash, identity.person_key
        else:
            take(field.name, parse_column(field.parser, raw[field.name], file_year))
    for field in table.kind.fields:
        if field.required:
            if field.name in out:
                # A cell that failed to parse already has its own error.
                reports.append(errors_where(out, out[field.name].isna() & ~failed[field.name], field.name, "required"))
            else:
                reports.append(errors_where(out, pd.Series(True, index=out.index), field.name, "required"))
    reports.append(_rules(table.kind, out))
    errors = pd.concat([r for r in reports if not r.empty], ignore_index=True) if any(not r.empty for r in reports) else no_errors()
    errors["severity"] = severities(table.kind, errors)
    return _blank_warned(out, errors), errors


def severities(kind: S.SourceKind, errors: pd.DataFrame) -> pd.Series:
    """``warning`` for an optional field's bad value, ``error`` for the rest (see the module docstring)."""
    optional = [f.name for f in kind.fields if not f.required]
    warn = errors["field"].isin(optional) & ~errors["code"].isin(ROW_CODES)
    return warn.map({True: WARNING, False: ERROR}).astype(object)


def _blank_warned(frame: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    """Empty the values that warnings name (a value out of range parsed fine; one that failed to parse is empty already)."""
    warned = errors[errors["severity"] == WARNING]
    for name, idx in warned.groupby("field")["idx"]:
        if name in frame and frame.loc[idx, name].notna().any():
            frame[name] = frame[name].mask(frame.index.isin(idx), None)
    return frame


def rows_rejected(errors: pd.DataFrame) -> pd.DataFrame:
    """The report with the warnings of rows that were rejected anyway made errors: nothing of those rows loaded."""
    if errors.empty:
        return errors
    severity = errors["severity"].fillna(ERROR) if "severity" in errors else pd.Series(ERROR, index=errors.index)
    rejected = errors["idx"][severity == ERROR].unique()
    return errors.assign(severity=severity.where(~errors["idx"].isin(rejected), ERROR))


def _rules(kind: S.SourceKind, frame: pd.DataFrame) -> pd.DataFrame:
    """Cross-field and range rules, and defaults that follow from other fields."""
    found = []
    if "temperature" in frame:
        t = pd.to_numeric(frame["temperature"], errors="coerce")
        found.append(errors_where(frame, (t < 34) | (t > 43), "temperature", "temperature_range"))
    # Of two values that contradict each other neither can be trusted: both are named (and left empty).
    if "lng" in frame and "lat" in frame:
        lng = pd.to_numeric(frame["lng"], errors="coerce")
        lat = pd.to_numeric(frame["lat"], errors="coerce")
        outside = (lng < 73) | (lng > 136) | (lat < 3) | (lat > 54)
        found += [errors_where(frame, outside, name, "coordinate_range") for name in ("lng", "lat")]
    if "staff_total" in frame and "staff_returned" in frame:
        total = pd.to_numeric(frame["staff_total"], errors="coerce")
        returned = pd.to_numeric(frame["staff_returned"], errors="coerce")
        found += [errors_where(frame, returned > total, name, "staff_returned_exceeds_total")
                  for name in ("staff_total", "staff_returned")]
    if "submitted_at" in frame:
        latest = config.local_now() + FUTURE_TOLERANCE
        later = map_unique(frame["submitted_at"], lambda moment: moment > latest)
        found.append(errors_where(frame, later, "submitted_at", "future_date"))
    if kind is S.REOPENING_REPORT or kind is S.ENTERPRISE_REGISTRY:
        name = frame["enterprise_name"] if "enterprise_name" in frame else pd.Series(None, index=frame.index)
        uscc = frame["uscc"] if "uscc" in frame else pd.Series(None, index=frame.index)
        found.append(errors_where(frame, name.isna() & uscc.isna(), "enterprise_name", "enterprise_missing"))
    found = [f for f in found if not f.empty]
    return pd.concat(found, ignore_index=True) if found else no_errors()


def apply_defaults(kind: S.SourceKind, frame: pd.DataFrame) -> pd.DataFrame:
    """Values the rules derive (docs/sources.md#returning-staff) when a cell is empty (quarantine ends 14 days after return)."""
    if kind is S.RETURNING_STAFF and "quarantine_status" in frame and "return_date" in frame:
        out = frame.copy(deep=False)
        end = out["quarantine_end"] if "quarantine_end" in out else pd.Series(None, index=out.index, dtype=object)
        needs = end.isna() & out["quarantine_status"].isin(S.IN_QUARANTINE) & out["return_date"].notna()
        if needs.any():
            end = end.astype(object).copy()
            end[needs] = map_unique(out.loc[needs, "return_date"], lambda d: d + timedelta(days=config.QUARANTINE_DAYS))
        out["quarantine_end"] = end
        return out
    return frame

