"""The database as pandas DataFrames, for analysts' notebooks (notebooks/ in the repository).

One import gives everything a notebook needs::

    from etl import analysis
    eng = analysis.engine()                      # --db / $ONENET_DB / data/onenet.db, like the CLI
    first, last = analysis.campaign_days(eng)
    curve = analysis.figures(first, last, "district", engine=eng)

Nothing here computes a figure of its own: the figures come from ``etl.figures.summary`` (the single
definition), the missing list from ``etl.export.missing_buildings``, masking from ``etl.export``.
Frames carry English column names; ``LABELS`` turns them into the Chinese headers of the exports
(``frame.rename(columns=analysis.LABELS)``). No frame carries a resident's name, phone or ID hash.
Every query takes an ``engine`` (made from the settings, and disposed of, when omitted) and only reads.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from etl.aggregate import day_range
from etl.excel import Column, Formats, open_workbook, write_sheet
from etl.export import (
    MISSING_COLUMNS,
    SUMMARY_COLUMNS,
    SUMMARY_KEYS,
    mask_name,
    mask_phone,
    missing_buildings,
)
from etl.figures import LEVELS, summary
from etl.origins import origin_labels
from etl.scope import load_scope
from etl.database import make_engine
from schemas.labels import SEVERITY_LABELS
from schemas.models import Division, ImportBatch, Reject, ReturningStaff
from schemas.sources import FIELD_HEADERS

DayLike = date | str

LABELS: dict[str, str] = {
    **{key: col.header for key, col in zip(SUMMARY_KEYS, SUMMARY_COLUMNS)},
    **{key: col.header for key, col in zip(
        ("district", "street", "building", "address", "owner", "owner_contact", "owner_phone", "silent", "silent_enterprises",
         "follow_up"), MISSING_COLUMNS)},
    "day": "日期", "level": "级别", "parent_code": "上级代码", "silent_since": "连续漏报起始日", "days_silent": "连续漏报天数",
    "batch": "批次", "file": "文件", "kind": "类型", "status": "状态", "rows": "行数", "inserted": "新增",
    "updated": "更新", "unchanged": "未变化", "rejected": "退回", "error": "错误", "started_at": "开始时间",
    "finished_at": "完成时间", "sheet": "工作表", "row": "行号", "severity": "级别", "field": "字段", "reason_code": "原因代码",
    "reason": "原因", "week": "周（周一）", "origin": "来源地", "people": "人数",
}
"""Chinese headers of the frames' columns, the same words as the analyst workbook (etl.export)."""

NO_ORIGIN = "未填写"


def is_rate(column: str) -> bool:
    """Is a column of ``figures`` a rate (a fraction 0..1, shown as a percentage)?"""
    return column.endswith("_rate") or column in ("reporting_coverage", "timeliness")


def engine(url: str | None = None) -> Engine:
    """An engine on the project's database: ``url``, else $ONENET_DB, else data/onenet.db (as ``onenet --db``)."""
    return make_engine(url)


@contextmanager
def _session(eng: Engine | None) -> Iterator[Session]:
    own = eng is None
    eng = eng or engine()
    try:
        with Session(eng) as session:
            yield session
    finally:
        if own:
            eng.dispose()


def _day(value: DayLike) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _days(start: DayLike, end: DayLike) -> list[date]:
    first, last = _day(start), _day(end)
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def campaign_days(engine: Engine | None = None) -> tuple[date, date]:
    """The first campaign day and the last day with a report (the campaign's last day if there is none)."""
    with _session(engine) as session:
        rng = day_range(session)
    return rng.first, rng.data_last or rng.last


def figures(start: DayLike, end: DayLike, level: str = "district", engine: Engine | None = None) -> pd.DataFrame:
    """The figures of every unit of ``level`` (city, district, street) on every day from ``start`` to ``end``.

    One row per unit and day, columns as ``etl.figures.summary`` (counts, and rates as fractions or NaN
    where nothing is counted) plus ``day`` (a Timestamp).  Rates of a roll-up come from its own numerator
    and denominator: to combine units, add the counts and divide again, never average the rates.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    with _session(engine) as session:
        rows = [{"day": day, **unit} for day in _days(start, end) for unit in summary(session, day, level)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["day"] = pd.to_datetime(frame["day"])
    rates = [c for c in frame.columns if is_rate(c)]
    frame[rates] = frame[rates].astype("float64")
    return frame


def import_ledger(engine: Engine | None = None) -> pd.DataFrame:
    """Every file an import read, oldest first: what it held and what happened to its rows."""
    b = ImportBatch
    stmt = select(b.id.label("batch"), b.file_name.label("file"), b.kind, b.status, b.rows, b.inserted, b.updated,
                  b.unchanged, b.rejected, b.error, b.started_at, b.finished_at).order_by(b.id)
    with _session(engine) as session:
        result = session.execute(stmt)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def rejects(engine: Engine | None = None) -> pd.DataFrame:
    """Every rejected row and every warning: file, sheet, row number, severity (退回: the row was not loaded,
    警告: it loaded with the value left empty), field (Chinese header), reason code and the reason given."""
    stmt = (select(Reject.batch_id.label("batch"), ImportBatch.file_name.label("file"), Reject.sheet,
                   Reject.row_number.label("row"), Reject.severity, Reject.field, Reject.code.label("reason_code"), Reject.reason)
            .join(ImportBatch, ImportBatch.id == Reject.batch_id).order_by(Reject.batch_id, Reject.id))
    with _session(engine) as session:
        result = session.execute(stmt)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["field"] = frame["field"].map(lambda f: FIELD_HEADERS.get(f, f), na_action="ignore")
    frame["severity"] = frame["severity"].map(lambda s: SEVERITY_LABELS.get(s, s))
    return frame


def silent_buildings(day: DayLike, since: DayLike | None = None, scope: str | None = None,
                     engine: Engine | None = None) -> pd.DataFrame:
    """Buildings missing reports on ``day`` (etl.export.missing_buildings), most silent enterprises first.

    With ``since``, also how long each has been on the missing list without a break (``silent_since``,
    ``days_silent``, counted back no further than ``since``), longest first.  ``scope`` is a division
    code (default: the city).  The owner's contact is masked.
    """
    day = _day(day)
    with _session(engine) as session:
        unit = load_scope(session, scope)
        listed = missing_buildings(session, unit, day)
        streak = {b["id"]: day for b in listed}
        still = set(streak)
        back = day - timedelta(days=1)
        while since is not None and still and back >= _day(since):
            still &= {b["id"] for b in missing_buildings(session, unit, back)}
            streak.update(dict.fromkeys(still, back))
            back -= timedelta(days=1)
    frame = pd.DataFrame([{
        "district": b["district"], "street": b["street"], "building": b["name"], "address": b["address"],
        "owner": b["owner"], "owner_contact": mask_name(b["owner_contact"]), "owner_phone": mask_phone(b["owner_phone"]),
        "silent": len(b["silent"]), "silent_enterprises": "、".join(name for name, _ in b["silent"]),
        "follow_up": b["follow_up"], "silent_since": streak[b["id"]], "days_silent": (day - streak[b["id"]]).days + 1,
    } for b in listed], columns=["district", "street", "building", "address", "owner", "owner_contact", "owner_phone",
                                 "silent", "silent_enterprises", "follow_up", "silent_since", "days_silent"])
    if since is not None:
        frame = frame.sort_values(["days_silent", "silent"], ascending=False, kind="stable", ignore_index=True)
    return frame


def returning_staff_by_origin_and_week(start: DayLike | None = None, end: DayLike | None = None,
                                       engine: Engine | None = None) -> pd.DataFrame:
    """Returning staff by origin (来源地) and the week (starting Monday) of their return date.

    Counts distinct valid people, as the returning-staff figure does; people without a return date are
    left out, those without an origin count as 未填写.  An origin is its place's standard name (湖北武汉 and
    湖北省武汉市 are both 湖北省武汉市, etl.origins); a text naming no known place stays as written.
    Columns: week, origin, people.
    """
    t = ReturningStaff
    where = [t.is_current.is_(True), t.return_date.is_not(None)]
    if start is not None:
        where.append(t.return_date >= _day(start))
    if end is not None:
        where.append(t.return_date <= _day(end))
    stmt = (select(t.return_date, t.origin, t.origin_code, func.count(func.distinct(t.person_key)))
            .where(*where).group_by(t.return_date, t.origin, t.origin_code))
    with _session(engine) as session:
        frame = pd.DataFrame(session.execute(stmt).all(), columns=["return_date", "origin", "origin_code", "people"])
    days = pd.to_datetime(frame["return_date"])
    frame = frame.assign(week=days - pd.to_timedelta(days.dt.day_of_week, unit="D"),
                         origin=origin_labels(frame["origin"], frame["origin_code"]).fillna(NO_ORIGIN))
    out = frame.groupby(["week", "origin"], as_index=False)["people"].sum()
    return out.sort_values(["week", "people", "origin"], ascending=[True, False, True], ignore_index=True)


def quarantine_by_street(start: DayLike, end: DayLike, engine: Engine | None = None) -> pd.DataFrame:
    """Per street and day: returning staff and those in quarantine, from the figures (``figures(level="street")``).

    Columns: day, district, code, street, returning_staff, in_quarantine.  People whose rows name only
    a district belong to no street and appear in the district figures only.
    """
    streets = figures(start, end, "street", engine=engine)
    with _session(engine) as session:
        names = dict(session.execute(select(Division.code, Division.name)).all())
    if streets.empty:
        return pd.DataFrame(columns=["day", "district", "code", "street", "returning_staff", "in_quarantine"])
    streets = streets.assign(district=streets["parent_code"].map(names), street=streets["name"])
    return streets[["day", "district", "code", "street", "returning_staff", "in_quarantine"]]


def to_excel(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write frames as sheets of one workbook, the way the product's exports are written: Chinese headers
    (``LABELS``), rates as percentages, and no cell ever turned into a formula."""
    path = Path(path)
    workbook = open_workbook(path, streaming=False)
    fmt = Formats(workbook)
    for name, frame in sheets.items():
        kinds = ["percent" if is_rate(str(c))
                 else "date" if pd.api.types.is_datetime64_any_dtype(frame[c])
                 else "int" if pd.api.types.is_integer_dtype(frame[c])
                 else "float" if pd.api.types.is_float_dtype(frame[c]) else "text" for c in frame.columns]
        columns = [Column(LABELS.get(str(c), str(c)), kind) for c, kind in zip(frame.columns, kinds)]
        rows = ([None if pd.isna(v) else v.to_pydatetime() if isinstance(v, pd.Timestamp) else
                 v.item() if hasattr(v, "item") else v for v in row] for row in frame.itertuples(index=False))
        write_sheet(workbook, fmt, name, columns, rows)
    workbook.close()
    return path
