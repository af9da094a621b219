"""Pre-aggregated figures for the dashboard (issue 4).

``etl.figures.street_figures`` is the definition of the figures (SPEC §5); it runs one SQL query per
day over every report of the city.  The dashboard needs the figures of every campaign day (trends,
change since the day before) in well under a second, so they are computed here once per ingest for
all days at once, in memory, and stored in the tables of ``schemas.aggregates``.  The computation
follows street_figures rule for rule; tests/etl/test_aggregate.py holds the two equal.

Campaign days: February of the campaign year, widened to the first and last day that reports
count on (at most ``MAX_DAYS`` days, the latest ones).
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, delete, func, or_, select, text
from sqlalchemy.orm import Session

from etl import config
from etl.load import sqlite_value
from schemas.aggregates import (
    AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggMeta, AggQuarantine, AggStaff, AggStreetDay, AggStreetPlan,
)
from schemas.models import Building, Division, Enterprise, ImportBatch, ReopeningReport, ReturningStaff
from schemas.sources import SHOP_KIND

MAX_DAYS = 400
META_KEY = "range"
COUNT_COLUMNS = ("enterprises", "reopened", "shops", "shops_open", "staff_total", "staff_returned", "reported",
                 "reported_on_time", "buildings", "buildings_missing", "returning_staff", "in_quarantine")
STAFF_DAY_COLUMNS = ["code", "day", "returning_staff", "in_quarantine"]
_LOCK_ID = 4_202_002  # PostgreSQL advisory lock: one refresh at a time


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date
    data_last: date | None

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def offset(self, day: date) -> int:
        return (day - self.first).days


def day_range(session: Session) -> DayRange:
    """The campaign days to aggregate: February of the campaign year and every day reports count on."""
    year = config.CAMPAIGN_YEAR
    first, last = date(year, 2, 1), date(year, 2, calendar.monthrange(year, 2)[1])
    lo, hi = session.execute(select(func.min(ReopeningReport.effective_at), func.max(ReopeningReport.effective_at))).one()
    data_last = None
    if hi is not None:
        lo, hi = _as_datetime(lo), _as_datetime(hi)
        first, last, data_last = min(first, lo.date()), max(last, hi.date()), hi.date()
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return DayRange(first, last, data_last)


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass
class StaffDelta:
    """What an ingest run did to returning staff, so the staff aggregates can be updated without
    reading every row back: net changes by (unit, origin, return date, end of quarantine), each row
    made current counting +1 and each row retired −1 (SPEC §4 keeps one current row per person, so
    the counts add up).

    ``base_mark`` is the largest returning_staff.id before the run and ``base_batch`` the largest loaded
    import_batch.id; the stored staff aggregates are the base only if they account for exactly those
    rows and batches (``AggMeta.staff_mark``, ``AggMeta.batch_mark``).  A run that
    changes enterprises (a person's unit follows their enterprise's street) cannot be applied as a
    delta; ``valid`` is then False and the staff aggregates are recomputed from the rows.
    """

    base_mark: int | None
    base_batch: int | None = None
    rows: list[pd.DataFrame] = field(default_factory=list)
    inserted: int = 0
    valid: bool = True
    units: list[pd.DataFrame] = field(default_factory=list)
    """(batch_id, code) of every staff row the run stored, as ``_batch_units`` would find them."""
    staff_only: bool = True
    """The run loaded nothing but returning staff (no registry, no report)."""

    COLUMNS = ["code", "origin", "return_date", "quarantine_end", "change"]


def staff_mark(session: Session) -> int | None:
    return session.scalar(select(func.max(ReturningStaff.id)))


def batch_mark(session: Session) -> int:
    """The largest id of a loaded batch (0 when none): what the aggregates of this moment account for."""
    return session.scalar(select(func.max(ImportBatch.id)).where(ImportBatch.status == "loaded")) or 0


def initial_meta(session: Session) -> AggMeta:
    """The aggregates of a database that holds nothing yet: empty, and accounting for every batch (none)."""
    rng = day_range(session)
    return AggMeta(key=META_KEY, first_day=rng.first, last_day=rng.last, data_last_day=rng.data_last,
                   refreshed_at=config.local_now(), staff_mark=None, batch_mark=0)


def refresh_aggregates(session: Session, street_codes: set[str] | None = None, delta: StaffDelta | None = None) -> bool:
    """Rebuild the pre-aggregated tables (for ``street_codes`` only, when given) inside the caller's transaction.

    A partial refresh (one QR submission) also recomputes the districts of those streets (returning
    staff whose rows name no street are keyed by district).  When the campaign days changed since
    the last refresh, everything is rebuilt.  With ``delta``, the staff aggregates are the stored ones
    plus the delta when that is exact (see StaffDelta), else recomputed; returns whether the delta was used.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    session.flush()
    batches = batch_mark(session)  # read first: a batch committed meanwhile makes the next run recompute
    rng = day_range(session)
    meta = session.get(AggMeta, META_KEY)
    # Nothing was loaded since the stored aggregates were computed in full (a failed refresh, a QR
    # submission's partial one, or an older version of onenet leave batch_mark behind or None).
    stored_complete = meta is not None and meta.batch_mark is not None and delta is not None and (
        meta.batch_mark == (delta.base_batch or 0))
    codes: set[str] | None = None
    same_days = meta is not None and (meta.first_day, meta.last_day) == (rng.first, rng.last)
    if street_codes is not None and same_days:
        codes = _with_districts(session, {c for c in street_codes if c})
    staff = None
    if codes is None and delta is not None and delta.valid:
        base = None
        if delta.base_mark is None:
            base = _empty_staff_groups()
        elif same_days and stored_complete and meta is not None and meta.staff_mark == delta.base_mark:
            base = _stored_staff_groups(session)
        if base is not None and _only_writer(session, delta):
            staff = _apply_delta(base, delta, rng)
    units = None
    if staff is not None and delta is not None and delta.staff_only and stored_complete:
        # Staff rows of earlier batches keep their units (no enterprise changed), nothing else was loaded.
        units = pd.concat([_stored_batch_units(session), *delta.units], ignore_index=True).drop_duplicates(ignore_index=True)
    if units is not None and same_days and staff is not None:
        # Only returning staff changed: every other figure stands; the staff columns of the street rows are redone.
        street_day = _merge_staff(_stored_street_day_without_staff(session), _staff_counts(*staff, rng))
        _replace(session, _staff_tables(street_day, *staff, units), None)
    else:
        _replace(session, compute(session, rng, codes, staff, units).tables(), codes)
    if meta is None:
        meta = AggMeta(key=META_KEY, first_day=rng.first, last_day=rng.last, refreshed_at=config.local_now())
        session.add(meta)
    meta.first_day, meta.last_day, meta.data_last_day = rng.first, rng.last, rng.data_last
    meta.refreshed_at = config.local_now()
    # A partial refresh leaves other units as they were, which it cannot vouch for.
    meta.staff_mark = staff_mark(session) if codes is None else None
    meta.batch_mark = batches if codes is None else None
    session.flush()
    return staff is not None


def _only_writer(session: Session, delta: StaffDelta) -> bool:
    """No one else added returning staff since the run began (a QR submission, another ingest)."""
    newer = select(func.count()).select_from(ReturningStaff)
    if delta.base_mark is not None:
        newer = newer.where(ReturningStaff.id > delta.base_mark)
    return session.scalar(newer) == delta.inserted


def _with_districts(session: Session, streets: set[str]) -> set[str]:
    parents = session.scalars(select(Division.parent_code).where(Division.code.in_(streets))).all()
    return streets | {p for p in parents if p}


# --------------------------------------------------------------------------- computation


@dataclass
class Aggregates:
    street_day: pd.DataFrame
    building_spans: pd.DataFrame
    enterprise_spans: pd.DataFrame
    plans: pd.DataFrame
    staff: pd.DataFrame
    quarantine: pd.DataFrame
    batch_units: pd.DataFrame

    def tables(self) -> list[tuple[Table, pd.DataFrame, Any]]:
        """Each stored table with its rows and the column its units are keyed by."""
        return [
            *_staff_tables(self.street_day, self.staff, self.quarantine, self.batch_units),
            (AggBuildingSpan.__table__, self.building_spans, AggBuildingSpan.street_code),
            (AggEnterpriseSpan.__table__, self.enterprise_spans, AggEnterpriseSpan.street_code),
            (AggStreetPlan.__table__, self.plans, AggStreetPlan.code),
        ]


def _staff_tables(street_day: pd.DataFrame, staff: pd.DataFrame, quarantine: pd.DataFrame,
                  batch_units: pd.DataFrame) -> list[tuple[Table, pd.DataFrame, Any]]:
    """The tables a load of returning staff alone changes (street rows carry the staff counts)."""
    return [
        (AggStreetDay.__table__, street_day, AggStreetDay.code),
        (AggStaff.__table__, staff, AggStaff.code),
        (AggQuarantine.__table__, quarantine, AggQuarantine.code),
        (AggBatchUnit.__table__, batch_units, AggBatchUnit.code),
    ]


def _stored_street_day_without_staff(session: Session) -> pd.DataFrame:
    """The stored street rows with their staff counts set to 0, less the rows only staff made (keys that no
    enterprise or building names): what ``compute`` builds before merging the staff counts in."""
    keys = set(session.scalars(select(Enterprise.street_code).distinct())) | set(
        session.scalars(select(Building.street_code).distinct()))
    rows = _frame(session, select(*[AggStreetDay.__table__.c[c] for c in ("code", "day", *COUNT_COLUMNS)]),
                  ["code", "day", *COUNT_COLUMNS])
    rows = rows[rows["code"].isin(keys)].reset_index(drop=True)
    rows["day"] = _dates(rows["day"])
    for c in COUNT_COLUMNS:
        rows[c] = 0 if c in ("returning_staff", "in_quarantine") else rows[c].astype(np.int64)
    return rows


def _frame(session: Session, stmt: Any, columns: list[str]) -> pd.DataFrame:
    """Rows of ``stmt`` as the driver returns them (dates stay ISO text on SQLite; parsed vectorised later).

    The driver's plain tuples, not SQLAlchemy Row objects: pandas probes every Row for attributes,
    which dominated a refresh over a million returning-staff rows.
    """
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positiontup is not None:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def _dates(values: pd.Series) -> pd.Series:
    """ISO text or date values → datetime.date objects (None where missing)."""
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    return pd.Series([None if pd.isna(v) else v.date() for v in parsed], index=values.index, dtype=object)


def _day_offsets(values: pd.Series, rng: DayRange) -> np.ndarray:
    """Day offsets from the first campaign day of date/datetime values (NaN where missing)."""
    stamps = pd.to_datetime(values, errors="coerce")
    return ((stamps.dt.normalize() - pd.Timestamp(rng.first)) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def compute(session: Session, rng: DayRange, codes: set[str] | None = None,
            staff: tuple[pd.DataFrame, pd.DataFrame] | None = None, units: pd.DataFrame | None = None) -> Aggregates:
    """Every aggregate for the days of ``rng``; for the units keyed by ``codes`` only, when given.

    ``staff``: the staff groups (by origin and return date; by return date and end of quarantine)
    when already known, else they are computed from the returning-staff rows; ``units`` likewise
    the (batch, unit) pairs of the import ledger.
    """
    n_days = len(rng.days)
    end = datetime.combine(rng.last + timedelta(days=1), time())

    ent_filter: Any = True
    bld_filter: Any = True
    if codes is not None:
        code_list = sorted(codes)
        bld_filter = Building.street_code.in_(code_list)
        ent_filter = or_(Enterprise.street_code.in_(code_list),
                         Enterprise.building_id.in_(select(Building.id).where(bld_filter)))

    ents = _frame(session, select(Enterprise.id, Enterprise.street_code, Enterprise.building_id, Enterprise.kind,
                                  Enterprise.registered_at).where(ent_filter),
                  ["id", "street_code", "building_id", "kind", "registered_at"]).sort_values("id", ignore_index=True)
    blds = _frame(session, select(Building.id, Building.street_code, Building.registered_at).where(bld_filter),
                  ["id", "street_code", "registered_at"]).sort_values("id", ignore_index=True)
    reps = _frame(session, select(ReopeningReport.enterprise_id, ReopeningReport.id, ReopeningReport.effective_at,
                                  ReopeningReport.planned_reopen_date, ReopeningReport.reopened,
                                  ReopeningReport.actual_reopen_date, ReopeningReport.staff_total,
                                  ReopeningReport.staff_returned)
                  .where(ReopeningReport.effective_at < end,
                         ReopeningReport.enterprise_id.in_(select(Enterprise.id).where(ent_filter))),
                  ["enterprise_id", "id", "effective_at", "planned", "reopened", "actual", "staff_total",
                   "staff_returned"])

    # Keys of the street-level table: every street an enterprise or building names.
    keys = sorted(set(ents["street_code"].dropna()) | set(blds["street_code"].dropna()))
    key_index = {k: i for i, k in enumerate(keys)}

    n_e = len(ents)
    e_key = ents["street_code"].map(key_index).to_numpy(dtype=np.int64)
    e_shop = (ents["kind"] == SHOP_KIND).to_numpy()
    e_reg_day = np.nan_to_num(_day_offsets(ents["registered_at"], rng), nan=-np.inf)
    e_pos = {int(i): p for p, i in enumerate(ents["id"])}
    b_pos_of = {int(i): p for p, i in enumerate(blds["id"])}
    e_bpos = np.array([b_pos_of.get(int(b), -1) if pd.notna(b) else -1 for b in ents["building_id"]], dtype=np.int64)
    b_key = blds["street_code"].map(key_index).to_numpy(dtype=np.int64)
    b_reg_day = np.nan_to_num(_day_offsets(blds["registered_at"], rng), nan=-np.inf)

    # Latest report per enterprise per day: keep each enterprise's last report of each day, then
    # look up the last one at or before a day with a binary search on (enterprise, day).
    reps["epos"] = reps["enterprise_id"].map(e_pos)
    reps = reps.dropna(subset=["epos"])
    reps["epos"] = reps["epos"].astype(np.int64)
    reps["effective_at"] = pd.to_datetime(reps["effective_at"])
    reps["rday"] = np.floor(_day_offsets(reps["effective_at"], rng)).astype(np.int64)
    early = reps["effective_at"].dt.time < time(config.REPORT_DEADLINE_HOUR)
    on_time_days = reps.loc[early & (reps["rday"] >= 0), ["epos", "rday"]].drop_duplicates()
    reps = reps.sort_values(["epos", "rday", "effective_at", "id"], kind="stable")
    latest = reps.drop_duplicates(["epos", "rday"], keep="last").reset_index(drop=True)

    shift = int(max(0, -latest["rday"].min())) + 1 if len(latest) else 1
    span = n_days + shift + 1
    r_epos = latest["epos"].to_numpy(dtype=np.int64)
    r_keys = r_epos * span + latest["rday"].to_numpy(dtype=np.int64) + shift
    r_reopened = latest["reopened"].map(lambda v: v is True or v == 1).to_numpy(dtype=bool)
    r_actual = _day_offsets(latest["actual"], rng)
    r_planned = _day_offsets(latest["planned"], rng)
    r_st = pd.to_numeric(latest["staff_total"], errors="coerce").to_numpy(dtype=float)
    r_sr = pd.to_numeric(latest["staff_returned"], errors="coerce").to_numpy(dtype=float)
    r_both = ~np.isnan(r_st) & ~np.isnan(r_sr)
    all_epos = np.arange(n_e, dtype=np.int64)

    counts = np.zeros((len(keys), n_days, len(COUNT_COLUMNS)), dtype=np.int64)
    col = {c: i for i, c in enumerate(COUNT_COLUMNS)}
    n_b = len(blds)
    silent_m = np.zeros((n_b, n_days), dtype=np.int64)
    total_m = np.zeros((n_b, n_days), dtype=np.int64)
    breg_m = np.zeros((n_b, n_days), dtype=bool)
    plan_parts = []
    on_time_by_day = {d: g["epos"].to_numpy() for d, g in on_time_days.groupby("rday")}
    n_k = len(keys)

    def add(name: str, day: int, mask: np.ndarray, weights: np.ndarray | None = None, key_of: np.ndarray = e_key) -> None:
        w = None if weights is None else weights[mask]
        counts[:, day, col[name]] += np.bincount(key_of[mask], weights=w, minlength=n_k).astype(np.int64)[:n_k]

    for d in range(n_days):
        if len(r_keys):
            idx = np.searchsorted(r_keys, all_epos * span + d + shift, side="right") - 1
            has = idx >= 0
            has[has] = r_epos[idx[has]] == all_epos[has]
        else:
            idx = np.zeros(n_e, dtype=np.int64)
            has = np.zeros(n_e, dtype=bool)
        safe = np.where(has, idx, 0)
        reopened = has & r_reopened[safe] if len(r_keys) else has
        if len(r_keys):
            actual = r_actual[safe]
            reopened &= np.isnan(actual) | (actual <= d)
            both = has & r_both[safe]
            st = np.where(both, np.nan_to_num(r_st[safe]), 0)
            sr = np.where(both, np.nan_to_num(r_sr[safe]), 0)
        else:
            st = sr = np.zeros(n_e)
        reg = e_reg_day <= d
        firm = reg & ~e_shop
        shop = reg & e_shop
        on_time = np.zeros(n_e, dtype=bool)
        if d in on_time_by_day:
            on_time[on_time_by_day[d]] = True
        add("enterprises", d, firm)
        add("reopened", d, firm & reopened)
        add("shops", d, shop)
        add("shops_open", d, shop & reopened)
        add("staff_total", d, firm, st)
        add("staff_returned", d, firm, sr)
        add("reported", d, firm & has)
        add("reported_on_time", d, firm & on_time)

        in_bld = firm & (e_bpos >= 0)
        total_m[:, d] = np.bincount(e_bpos[in_bld], minlength=n_b)[:n_b]
        silent_m[:, d] = np.bincount(e_bpos[in_bld & ~has], minlength=n_b)[:n_b]
        breg = b_reg_day <= d
        breg_m[:, d] = breg
        add("buildings", d, breg, key_of=b_key)
        add("buildings_missing", d, breg & (silent_m[:, d] > 0), key_of=b_key)

        if len(r_keys):
            planned = r_planned[safe]
            waiting = firm & has & ~reopened & ~np.isnan(planned)
            if waiting.any():
                plan_parts.append(pd.DataFrame({"k": e_key[waiting], "day": d, "planned": planned[waiting].astype(np.int64)}))

    if staff is None:
        staff_counts, staff_groups, quarantine_groups = _staff(session, rng, codes)
    else:
        staff_groups, quarantine_groups = staff
        staff_counts = _staff_counts(staff_groups, quarantine_groups, rng)
    street_day = _street_day_frame(keys, counts, rng)
    street_day = _merge_staff(street_day, staff_counts)

    plans = pd.DataFrame(columns=["code", "day", "planned", "pending"])
    if plan_parts:
        p = pd.concat(plan_parts, ignore_index=True)
        p = p.groupby(["k", "day", "planned"], as_index=False).size()
        plans = pd.DataFrame({"code": np.array(keys, dtype=object)[p["k"].to_numpy()],
                              "day": [rng.days[d] for d in p["day"]],
                              "planned": [rng.first + timedelta(days=int(x)) for x in p["planned"]],
                              "pending": p["size"].to_numpy()})

    building_spans = _building_spans(blds, silent_m, total_m, breg_m, rng)
    enterprise_spans = _enterprise_spans(ents, e_shop, latest, rng)

    if codes is not None:
        street_day = street_day[street_day["code"].isin(codes)]
        plans = plans[plans["code"].isin(codes)]
        building_spans = building_spans[building_spans["street_code"].isin(codes)]
        enterprise_spans = enterprise_spans[enterprise_spans["street_code"].isin(codes)]
    return Aggregates(street_day, building_spans, enterprise_spans, plans, staff_groups, quarantine_groups,
                      _batch_units(session, codes) if units is None else units)


def _street_day_frame(keys: list[str], counts: np.ndarray, rng: DayRange) -> pd.DataFrame:
    n_k, n_d, _ = counts.shape
    frame = pd.DataFrame(counts.reshape(n_k * n_d, len(COUNT_COLUMNS)), columns=list(COUNT_COLUMNS))
    frame.insert(0, "code", np.repeat(np.array(keys, dtype=object), n_d))
    frame.insert(1, "day", np.tile(np.array(rng.days, dtype=object), n_k))
    return frame


def _merge_staff(street_day: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
    """Add returning_staff / in_quarantine (keyed by street, else district, else '') to the street rows."""
    if staff.empty:
        return street_day
    merged = street_day.merge(staff, on=["code", "day"], how="outer", suffixes=("", "_s"))
    for c in COUNT_COLUMNS:
        merged[c] = merged[c].fillna(0).astype(np.int64)
    for c in ("returning_staff", "in_quarantine"):
        merged[c] = merged[c] + merged.pop(c + "_s").fillna(0).astype(np.int64)
    return merged


def _staff(session: Session, rng: DayRange, codes: set[str] | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Returning staff per key and day (distinct people, as street_figures counts them), and the page groups
    (by origin and return date; by return date and end of quarantine)."""
    street = func.coalesce(Enterprise.street_code, ReturningStaff.street_code)
    stmt = (select(street, ReturningStaff.district_code, ReturningStaff.person_key, ReturningStaff.origin,
                   ReturningStaff.return_date, ReturningStaff.quarantine_end)
            .select_from(ReturningStaff)
            .outerjoin(Enterprise, Enterprise.id == ReturningStaff.enterprise_id)
            .where(ReturningStaff.is_current.is_(True), ReturningStaff.return_date.is_not(None),
                   ReturningStaff.return_date <= rng.last))
    if codes is not None:
        code_list = sorted(codes)
        stmt = stmt.where(or_(street.in_(code_list), (street.is_(None) & ReturningStaff.district_code.in_(code_list))))
    rows = _frame(session, stmt, ["street", "district", "person", "origin", "return_date", "quarantine_end"])
    if rows.empty:
        return pd.DataFrame(columns=STAFF_DAY_COLUMNS), *_empty_staff_groups()
    rows["code"] = rows["street"].where(rows["street"].notna(), rows["district"]).fillna("")
    rows["street"] = rows["street"].fillna("\0")
    rows["district"] = rows["district"].fillna("\0")
    n_days = len(rng.days)
    rows["rd"] = np.clip(_day_offsets(rows["return_date"], rng), 0, None).astype(np.int64)
    rows["qe"] = _day_offsets(rows["quarantine_end"], rng)

    code_list = sorted(rows["code"].unique())
    code_index = {c: i for i, c in enumerate(code_list)}
    group = ["street", "district", "person"]

    firsts = rows.groupby(group, as_index=False).agg(code=("code", "first"), rd=("rd", "min"))
    arrivals = np.zeros((len(code_list), n_days + 1), dtype=np.int64)
    np.add.at(arrivals, (firsts["code"].map(code_index).to_numpy(dtype=np.int64), firsts["rd"].to_numpy(dtype=np.int64)), 1)
    people = np.cumsum(arrivals[:, :n_days], axis=1)

    q = rows[rows["qe"].notna()].copy()
    q["start"] = q["rd"]
    q["end"] = np.minimum(q["qe"], n_days - 1).astype(np.int64)
    q = q[(q["start"] <= q["end"]) & (q["start"] < n_days)]
    diff = np.zeros((len(code_list), n_days + 1), dtype=np.int64)
    repeated = q.duplicated(group, keep=False)
    single = q[~repeated]
    ci = single["code"].map(code_index).to_numpy(dtype=np.int64)
    np.add.at(diff, (ci, single["start"].to_numpy(dtype=np.int64)), 1)
    np.add.at(diff, (ci, single["end"].to_numpy(dtype=np.int64) + 1), -1)
    quarantined = np.cumsum(diff[:, :n_days], axis=1)
    multi = q[repeated]
    if not multi.empty:
        lengths = (multi["end"] - multi["start"] + 1).to_numpy(dtype=np.int64)
        expanded = multi.loc[multi.index.repeat(lengths), [*group, "code", "start"]].reset_index(drop=True)
        expanded["d"] = expanded["start"].to_numpy() + _ranges(lengths)
        expanded = expanded.drop_duplicates([*group, "d"])
        np.add.at(quarantined, (expanded["code"].map(code_index).to_numpy(dtype=np.int64),
                                expanded["d"].to_numpy(dtype=np.int64)), 1)

    counts = _staff_day_frame(code_list, people, quarantined, rng)

    groups = (rows.assign(origin=rows["origin"].fillna(""))
              .groupby(["code", "origin", "return_date"])["person"].nunique().reset_index(name="people"))
    groups["origin"] = groups["origin"].replace("", None)
    groups["return_date"] = _dates(groups["return_date"])
    quarantine = (rows[rows["quarantine_end"].notna()]
                  .groupby(["code", "return_date", "quarantine_end"])["person"].nunique().reset_index(name="people"))
    quarantine["return_date"] = _dates(quarantine["return_date"])
    quarantine["quarantine_end"] = _dates(quarantine["quarantine_end"])
    return counts, groups, quarantine


def _staff_counts(groups: pd.DataFrame, quarantine: pd.DataFrame, rng: DayRange) -> pd.DataFrame:
    """Returning staff and staff in quarantine per key and day, from the groups (one row per person)."""
    code_list = sorted(set(groups["code"]) | set(quarantine["code"]))
    if not code_list:
        return pd.DataFrame(columns=STAFF_DAY_COLUMNS)
    n_days = len(rng.days)
    code_index = {c: i for i, c in enumerate(code_list)}
    arrivals = np.zeros((len(code_list), n_days + 1), dtype=np.int64)
    rd = np.clip(_day_offsets(groups["return_date"], rng), 0, None).astype(np.int64)
    np.add.at(arrivals, (groups["code"].map(code_index).to_numpy(dtype=np.int64), rd),
              groups["people"].to_numpy(dtype=np.int64))
    diff = np.zeros((len(code_list), n_days + 1), dtype=np.int64)
    start = np.clip(_day_offsets(quarantine["return_date"], rng), 0, None)
    end = np.minimum(_day_offsets(quarantine["quarantine_end"], rng), n_days - 1)
    keep = (start <= end) & (start < n_days)
    q = quarantine[keep]
    ci = q["code"].map(code_index).to_numpy(dtype=np.int64)
    people = q["people"].to_numpy(dtype=np.int64)
    np.add.at(diff, (ci, start[keep].astype(np.int64)), people)
    np.add.at(diff, (ci, end[keep].astype(np.int64) + 1), -people)
    return _staff_day_frame(code_list, np.cumsum(arrivals[:, :n_days], axis=1), np.cumsum(diff[:, :n_days], axis=1), rng)


def _staff_day_frame(code_list: list[str], people: np.ndarray, quarantined: np.ndarray, rng: DayRange) -> pd.DataFrame:
    """(key × day) matrices of returning staff and staff in quarantine → the rows where either is not 0."""
    counts = pd.DataFrame({
        "code": np.repeat(np.array(code_list, dtype=object), len(rng.days)),
        "day": np.tile(np.array(rng.days, dtype=object), len(code_list)),
        "returning_staff": people.ravel(),
        "in_quarantine": quarantined.ravel(),
    })
    return counts[(counts["returning_staff"] > 0) | (counts["in_quarantine"] > 0)]


def _empty_staff_groups() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.DataFrame(columns=["code", "origin", "return_date", "people"]),
            pd.DataFrame(columns=["code", "return_date", "quarantine_end", "people"]))


def _stored_staff_groups(session: Session) -> tuple[pd.DataFrame, pd.DataFrame]:
    groups = _frame(session, select(AggStaff.code, AggStaff.origin, AggStaff.return_date, AggStaff.people),
                    ["code", "origin", "return_date", "people"])
    quarantine = _frame(session, select(AggQuarantine.code, AggQuarantine.return_date, AggQuarantine.quarantine_end,
                                        AggQuarantine.people), ["code", "return_date", "quarantine_end", "people"])
    return groups, quarantine


def _iso(values: pd.Series) -> pd.Series:
    """Dates (or ISO text) as ISO day text, the one spelling both sides of a sum agree on."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.array([str(u)[:10] for u in uniques] + [None], dtype=object)
    return pd.Series(text[codes], index=values.index, dtype=object)


def _apply_delta(base: tuple[pd.DataFrame, pd.DataFrame], delta: StaffDelta, rng: DayRange
                 ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Stored groups plus the run's changes; None when the sum is impossible (a negative count)."""
    rows = (pd.concat(delta.rows, ignore_index=True) if delta.rows
            else pd.DataFrame(columns=StaffDelta.COLUMNS))
    rows = rows.assign(return_date=_iso(rows["return_date"]), quarantine_end=_iso(rows["quarantine_end"]))
    rows = rows[rows["return_date"].notna() & (rows["return_date"] <= rng.last.isoformat())]
    base_groups, base_quarantine = base
    groups = pd.concat([
        base_groups.assign(return_date=_iso(base_groups["return_date"]), people=base_groups["people"].astype(np.int64)),
        rows[["code", "origin", "return_date"]].assign(people=rows["change"].astype(np.int64)),
    ], ignore_index=True)
    groups["origin"] = groups["origin"].fillna("")
    groups = groups.groupby(["code", "origin", "return_date"], as_index=False)["people"].sum()
    q_rows = rows[rows["quarantine_end"].notna()]
    quarantine = pd.concat([
        base_quarantine.assign(return_date=_iso(base_quarantine["return_date"]),
                               quarantine_end=_iso(base_quarantine["quarantine_end"]),
                               people=base_quarantine["people"].astype(np.int64)),
        q_rows[["code", "return_date", "quarantine_end"]].assign(people=q_rows["change"].astype(np.int64)),
    ], ignore_index=True)
    quarantine = quarantine.groupby(["code", "return_date", "quarantine_end"], as_index=False)["people"].sum()
    if (groups["people"] < 0).any() or (quarantine["people"] < 0).any():
        return None
    groups = groups[groups["people"] > 0].reset_index(drop=True)
    quarantine = quarantine[quarantine["people"] > 0].reset_index(drop=True)
    groups["origin"] = groups["origin"].replace("", None)
    groups["return_date"] = _dates(groups["return_date"])
    quarantine["return_date"] = _dates(quarantine["return_date"])
    quarantine["quarantine_end"] = _dates(quarantine["quarantine_end"])
    return groups, quarantine


def _batch_units(session: Session, codes: set[str] | None) -> pd.DataFrame:
    """(batch, unit) pairs: reports by their enterprise's street, staff by street (else district), and the
    registry files named in the provenance of buildings and enterprises."""
    staff_unit = func.coalesce(Enterprise.street_code, ReturningStaff.street_code, ReturningStaff.district_code)
    queries = [
        select(ReopeningReport.batch_id, Enterprise.street_code).join(Enterprise, Enterprise.id == ReopeningReport.enterprise_id),
        select(ReturningStaff.batch_id, staff_unit).outerjoin(Enterprise, Enterprise.id == ReturningStaff.enterprise_id),
    ]
    if codes is not None:
        queries[0] = queries[0].where(Enterprise.street_code.in_(sorted(codes)))
        queries[1] = queries[1].where(staff_unit.in_(sorted(codes)))
    parts = [_frame(session, stmt.distinct(), ["batch_id", "code"]) for stmt in queries]
    for model in (Building, Enterprise):
        stmt = select(model.street_code, model.sources).where(model.sources.is_not(None))
        if codes is not None:
            stmt = stmt.where(model.street_code.in_(sorted(codes)))
        named = _frame(session, stmt, ["code", "sources"])
        batches = named["sources"].astype(str).str.findall(r"\[(\d+),")
        pairs = pd.DataFrame({"code": named["code"], "batch_id": batches}).explode("batch_id").dropna()
        parts.append(pairs[["batch_id", "code"]])
    out = pd.concat(parts, ignore_index=True).dropna()
    out["batch_id"] = out["batch_id"].astype(np.int64)
    return out.drop_duplicates(ignore_index=True)


def _stored_batch_units(session: Session) -> pd.DataFrame:
    units = _frame(session, select(AggBatchUnit.batch_id, AggBatchUnit.code), ["batch_id", "code"])
    return units.astype({"batch_id": np.int64})


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each n of ``lengths``, concatenated."""
    if not len(lengths):
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) - starts


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal values along each row: (row, first column, last column)."""
    n_rows, n_cols = values.shape
    if n_rows == 0 or n_cols == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    change = np.ones_like(values, dtype=bool)
    change[:, 1:] = values[:, 1:] != values[:, :-1]
    rows, starts = np.nonzero(change)
    flat = rows * n_cols + starts
    ends_flat = np.append(flat[1:], n_rows * n_cols) - 1
    ends = np.minimum(ends_flat - rows * n_cols, n_cols - 1)
    return rows, starts, ends


def _building_spans(blds: pd.DataFrame, silent: np.ndarray, total: np.ndarray, registered: np.ndarray,
                    rng: DayRange) -> pd.DataFrame:
    columns = ["building_id", "street_code", "day_from", "day_to", "enterprises", "silent"]
    value = np.where(registered & (silent > 0), silent * (1 << 31) + total, 0)
    rows, starts, ends = _runs(value)
    keep = value[rows, starts] > 0
    rows, starts, ends = rows[keep], starts[keep], ends[keep]
    if not len(rows):
        return pd.DataFrame(columns=columns)
    days = np.array(rng.days, dtype=object)
    return pd.DataFrame({
        "building_id": blds["id"].to_numpy()[rows].astype(np.int64),
        "street_code": blds["street_code"].to_numpy()[rows],
        "day_from": days[starts],
        "day_to": days[ends],
        "enterprises": total[rows, starts],
        "silent": silent[rows, starts],
    })


def _enterprise_spans(ents: pd.DataFrame, e_shop: np.ndarray, latest: pd.DataFrame, rng: DayRange) -> pd.DataFrame:
    columns = ["enterprise_id", "report_id", "street_code", "building_id", "is_shop", "day_from", "day_to",
               "planned_reopen_date", "reopened", "actual_reopen_date"]
    if latest.empty:
        return pd.DataFrame(columns=columns)
    n_days = len(rng.days)
    lat = latest.sort_values(["epos", "rday"], kind="stable").reset_index(drop=True)
    nxt = lat.groupby("epos")["rday"].shift(-1)
    start = np.maximum(lat["rday"].to_numpy(), 0)
    stop = np.where(nxt.isna(), n_days - 1, nxt.fillna(0).to_numpy() - 1).astype(np.int64)
    keep = start <= stop
    lat, start, stop = lat[keep], start[keep], stop[keep]
    epos = lat["epos"].to_numpy()
    days = np.array(rng.days, dtype=object)
    building = ents["building_id"].to_numpy(dtype=object)[epos]
    return pd.DataFrame({
        "enterprise_id": ents["id"].to_numpy()[epos].astype(np.int64),
        "report_id": lat["id"].to_numpy().astype(np.int64),
        "street_code": ents["street_code"].to_numpy()[epos],
        "building_id": pd.array([None if pd.isna(b) else int(b) for b in building], dtype="Int64"),
        "is_shop": e_shop[epos],
        "day_from": days[start],
        "day_to": days[stop],
        "planned_reopen_date": _dates(lat["planned"]).to_list(),
        "reopened": [None if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v) for v in lat["reopened"]],
        "actual_reopen_date": _dates(lat["actual"]).to_list(),
    }, columns=columns)


# --------------------------------------------------------------------------- storage


def _replace(session: Session, tables: list[tuple[Table, pd.DataFrame, Any]], codes: set[str] | None) -> None:
    for table, frame, key in tables:
        if codes is None:
            session.execute(delete(table))
        else:
            session.execute(delete(table).where(key.in_(sorted(codes))))
        _insert(session, table, frame)


def _records(frame: pd.DataFrame) -> Iterable[tuple[Any, ...]]:
    for row in frame.itertuples(index=False, name=None):
        yield tuple(_py(v) for v in row)


def _py(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _insert(session: Session, table: Table, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    columns = list(frame.columns)
    if session.get_bind().dialect.name == "postgresql":
        raw = session.connection().connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({','.join(columns)}) FROM STDIN") as copy:
            for record in _records(frame):
                copy.write_row(record)
        return
    # sqlite3 itself, values as SQLAlchemy stores them: a third of the time of its executemany of dicts.
    raw = session.connection().connection.driver_connection
    raw.executemany(f"INSERT INTO {table.name} ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                    (tuple(map(sqlite_value, record)) for record in _records(frame)))
