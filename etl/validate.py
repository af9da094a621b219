"""Validate: a read table → typed canonical columns plus a report of what is wrong, row by row.

The error report is a DataFrame (idx, field, code, value) in the manner of frictionless/pandera:
a typed error code per row and field, turned into a human reason by ``etl.normalise.ERRORS``.
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
    return out, errors


def _rules(kind: S.SourceKind, frame: pd.DataFrame) -> pd.DataFrame:
    """Cross-field and range rules, and defaults that follow from other fields."""
    found = []
    if "temperature" in frame:
        t = pd.to_numeric(frame["temperature"], errors="coerce")
        found.append(errors_where(frame, (t < 34) | (t > 43), "temperature", "temperature_range"))
    if "lng" in frame and "lat" in frame:
        lng = pd.to_numeric(frame["lng"], errors="coerce")
        lat = pd.to_numeric(frame["lat"], errors="coerce")
        found.append(errors_where(frame, (lng < 73) | (lng > 136) | (lat < 3) | (lat > 54), "lng", "coordinate_range"))
    if "staff_total" in frame and "staff_returned" in frame:
        total = pd.to_numeric(frame["staff_total"], errors="coerce")
        returned = pd.to_numeric(frame["staff_returned"], errors="coerce")
        found.append(errors_where(frame, returned > total, "staff_returned", "staff_returned_exceeds_total"))
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

