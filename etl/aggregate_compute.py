"""The computation of the pre-aggregated figures: every aggregated day (etl.days) of the given units at once.

``etl.figures.street_figures`` is the definition of the figures (docs/figures.md); it runs one SQL
query per day.  Here the same rules are applied to all days at once, in memory: each enterprise's
latest report at or before each day is found with a binary search over (enterprise, day), and counts
are summed per street with ``numpy.bincount``.  tests/etl/test_aggregate.py holds the two equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.orm import Session

from etl.days import OPEN_END, DayRange
from etl.figures import COUNTS
from etl.origins import origin_labels
from schemas.aggregates import (
    AggBatchUnit, AggBuildingSpan, AggEnterpriseSpan, AggQuarantine, AggStaff, AggStreetDay, AggStreetPlan,
)
from schemas.models import CONFIRMED, Building, Enterprise, ReopeningReport, ReturningStaff
from schemas.sources import SHOP_KIND

COUNT_COLUMNS = COUNTS
"""The counts stored per unit and day: the figures' own (etl.figures), rates being derived from them."""
STAFF_DAY_COLUMNS = ["code", "day", "returning_staff", "in_quarantine"]


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
    days = pd.Series(parsed.dt.date, index=values.index, dtype=object)
    return days.where(parsed.notna(), None)


def _day_offsets(values: pd.Series, rng: DayRange) -> np.ndarray:
    """Day offsets from the first campaign day of date/datetime values (NaN where missing)."""
    stamps = pd.to_datetime(values, errors="coerce")
    return ((stamps.dt.normalize() - pd.Timestamp(rng.first)) / pd.Timedelta(days=1)).to_numpy(dtype=float)


@dataclass
class Aggregates:
    street_day: pd.DataFrame
    building_spans: pd.DataFrame
    enterprise_spans: pd.DataFrame
    plans: pd.DataFrame
    staff: pd.DataFrame
    quarantine: pd.DataFrame
    batch_units: pd.DataFrame
    codes: set[str] | None  # the units computed (None: every unit)
    staff_codes: set[str] | None  # those whose returning-staff groups were computed

    def tables(self) -> list[tuple[Table, pd.DataFrame, Any, set[str] | None]]:
        """Each stored table with its rows, the column its units are keyed by and the units it holds rows of."""
        return [
            (AggStreetDay.__table__, self.street_day, AggStreetDay.code, self.codes),
            (AggStaff.__table__, self.staff, AggStaff.code, self.staff_codes),
            (AggQuarantine.__table__, self.quarantine, AggQuarantine.code, self.staff_codes),
            (AggBatchUnit.__table__, self.batch_units, AggBatchUnit.code, self.codes),
            (AggBuildingSpan.__table__, self.building_spans, AggBuildingSpan.street_code, self.codes),
            (AggEnterpriseSpan.__table__, self.enterprise_spans, AggEnterpriseSpan.street_code, self.codes),
            (AggStreetPlan.__table__, self.plans, AggStreetPlan.code, self.codes),
        ]


def compute(session: Session, rng: DayRange, codes: set[str] | None = None, staff_codes: set[str] | None = None) -> Aggregates:
    """Every aggregate for the days of ``rng``; for the units keyed by ``codes`` only, when given.

    ``staff_codes`` (a part of ``codes``): the units whose returning-staff figures are computed; the
    others keep those they have stored.  None: the same as ``codes``.
    """
    staff_codes = codes if staff_codes is None else staff_codes
    n_days = len(rng.days)
    offsets = rng.offsets  # the loop below runs over calendar-day offsets; column i of the results is day i
    end = datetime.combine(rng.last + timedelta(days=1), time())

    ent_filter: Any = Enterprise.status == CONFIRMED  # pending enterprises and their reports count nowhere
    bld_filter: Any = True
    if codes is not None:
        code_list = sorted(codes)
        bld_filter = Building.street_code.in_(code_list)
        ent_filter = and_(ent_filter, or_(Enterprise.street_code.in_(code_list),
                                          Enterprise.building_id.in_(select(Building.id).where(bld_filter))))

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
    e_first_day = np.full(n_e, np.inf)  # the day of each enterprise's first report (timeliness)
    np.minimum.at(e_first_day, reps["epos"].to_numpy(), reps["rday"].to_numpy(dtype=float))
    reps = reps.sort_values(["epos", "rday", "effective_at", "id"], kind="stable")
    latest = reps.drop_duplicates(["epos", "rday"], keep="last").reset_index(drop=True)

    shift = int(max(0, -latest["rday"].min())) + 1 if len(latest) else 1
    span = rng.offset(rng.last) + shift + 2
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
    n_k = len(keys)

    def add(name: str, day: int, mask: np.ndarray, weights: np.ndarray | None = None, key_of: np.ndarray = e_key) -> None:
        w = None if weights is None else weights[mask]
        counts[:, column[day], col[name]] += np.bincount(key_of[mask], weights=w, minlength=n_k).astype(np.int64)[:n_k]

    column = {d: i for i, d in enumerate(offsets.tolist())}
    for i, d in enumerate(offsets.tolist()):
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
        # on time: reported no later than the day it reopened (the latest report says when, docs/figures.md)
        on_time = has & (~r_reopened[safe] | (r_actual[safe] >= e_first_day)) if len(r_keys) else has
        add("enterprises", d, firm)
        add("reopened", d, firm & reopened)
        add("shops", d, shop)
        add("shops_open", d, shop & reopened)
        add("staff_total", d, firm, st)
        add("staff_returned", d, firm, sr)
        add("reported", d, firm & has)
        add("reported_on_time", d, firm & on_time)

        in_bld = firm & (e_bpos >= 0)
        total_m[:, i] = np.bincount(e_bpos[in_bld], minlength=n_b)[:n_b]
        silent_m[:, i] = np.bincount(e_bpos[in_bld & ~has], minlength=n_b)[:n_b]
        breg = b_reg_day <= d
        breg_m[:, i] = breg
        add("buildings", d, breg, key_of=b_key)
        add("buildings_missing", d, breg & (silent_m[:, i] > 0), key_of=b_key)

        if len(r_keys):
            planned = r_planned[safe]
            waiting = firm & has & ~reopened & ~np.isnan(planned)
            if waiting.any():
                plan_parts.append(pd.DataFrame({"k": e_key[waiting], "day": i, "planned": planned[waiting].astype(np.int64)}))

    if staff_codes is None or staff_codes:
        staff_counts, staff_groups, quarantine_groups = _staff(session, rng, staff_codes)
    else:
        staff_counts, (staff_groups, quarantine_groups) = pd.DataFrame(columns=STAFF_DAY_COLUMNS), _empty_staff_groups()
    if codes is not None and codes - staff_codes:
        staff_counts = pd.concat([staff_counts, _stored_staff_days(session, codes - staff_codes)], ignore_index=True)
    street_day = _street_day_frame(keys, counts, rng)
    street_day = _merge_staff(street_day, staff_counts)

    plans = pd.DataFrame(columns=["code", "day", "planned", "pending"])
    if plan_parts:
        p = pd.concat(plan_parts, ignore_index=True)
        p = p.groupby(["k", "day", "planned"], as_index=False).size()
        plans = pd.DataFrame({"code": np.array(keys, dtype=object)[p["k"].to_numpy()],
                              "day": np.array(rng.days, dtype=object)[p["day"].to_numpy()],
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
                      _batch_units(session, codes), codes, staff_codes)


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
    (by origin, as its place's standard name (etl.origins), and return date; by return date and end of quarantine).

    The database counts the people of each (unit, origin, return date, end of quarantine): a person has
    one current record (etl.staff), so a count of records is a count of distinct people.  What comes back
    grows with the days and places, not with the people: reading a million rows back into Python took 5 of
    the 16 s of a 1,000,000-row load (benchmarks/bench_ingest.py); the counts take under one.
    """
    unit = func.coalesce(Enterprise.street_code, ReturningStaff.street_code, ReturningStaff.district_code, "")
    keys = [unit, ReturningStaff.origin, ReturningStaff.origin_code, ReturningStaff.return_date, ReturningStaff.quarantine_end]
    stmt = (select(*keys, func.count())
            .select_from(ReturningStaff)
            .outerjoin(Enterprise, Enterprise.id == ReturningStaff.enterprise_id)
            .where(ReturningStaff.is_current.is_(True), ReturningStaff.return_date.is_not(None),
                   ReturningStaff.return_date <= rng.last)
            .group_by(*keys))
    if codes is not None:
        stmt = stmt.where(unit.in_(sorted(codes)))
    rows = _frame(session, stmt, ["code", "origin", "origin_code", "return_date", "quarantine_end", "people"])
    if rows.empty:
        return pd.DataFrame(columns=STAFF_DAY_COLUMNS), *_empty_staff_groups()
    n_days = len(rng.days)
    # Days as columns: a person counts from the first day aggregated on or after their return, and is in
    # quarantine up to the last one on or before its end.
    start = np.searchsorted(rng.offsets, _day_offsets(rows["return_date"], rng), side="left").astype(np.int64)
    code_list = sorted(rows["code"].unique())
    ci = rows["code"].map({c: i for i, c in enumerate(code_list)}).to_numpy(dtype=np.int64)
    people = rows["people"].to_numpy(dtype=np.int64)
    arrivals = np.zeros((len(code_list), n_days + 1), dtype=np.int64)
    np.add.at(arrivals, (ci, start), people)

    q_end = _day_offsets(rows["quarantine_end"], rng)
    last = np.searchsorted(rng.offsets, np.nan_to_num(q_end, nan=-np.inf), side="right") - 1
    q = ~np.isnan(q_end) & (start <= last) & (start < n_days)
    changes = np.zeros((len(code_list), n_days + 1), dtype=np.int64)
    np.add.at(changes, (ci[q], start[q]), people[q])
    np.add.at(changes, (ci[q], last[q] + 1), -people[q])
    counts = _staff_day_frame(code_list, np.cumsum(arrivals[:, :n_days], axis=1), np.cumsum(changes[:, :n_days], axis=1), rng)

    groups = (rows.assign(origin=origin_labels(rows["origin"], rows["origin_code"]).fillna(""))
              .groupby(["code", "origin", "return_date"])["people"].sum().reset_index())
    groups["origin"] = groups["origin"].replace("", None)
    groups["return_date"] = _dates(groups["return_date"])
    quarantine = (rows[rows["quarantine_end"].notna()]
                  .groupby(["code", "return_date", "quarantine_end"])["people"].sum().reset_index())
    quarantine["return_date"] = _dates(quarantine["return_date"])
    quarantine["quarantine_end"] = _dates(quarantine["quarantine_end"])
    return counts, groups, quarantine


def _stored_staff_days(session: Session, codes: set[str]) -> pd.DataFrame:
    """The returning-staff day counts the units of ``codes`` have stored (their people did not change)."""
    t = AggStreetDay
    rows = session.execute(select(t.code, t.day, t.returning_staff, t.in_quarantine)
                           .where(t.code.in_(sorted(codes)), or_(t.returning_staff > 0, t.in_quarantine > 0))).all()
    return pd.DataFrame(rows, columns=STAFF_DAY_COLUMNS)


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


def _span_ends(rng: DayRange, last: np.ndarray) -> np.ndarray:
    """``day_to`` of spans whose last aggregated day is column ``last``: the calendar day before the next
    day aggregated, or OPEN_END after the last (figures hold until they change)."""
    ends = np.array([d - timedelta(days=1) for d in rng.days[1:]] + [OPEN_END], dtype=object)
    return ends[last]


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
        "day_to": _span_ends(rng, ends),
        "enterprises": total[rows, starts],
        "silent": silent[rows, starts],
    })


def _enterprise_spans(ents: pd.DataFrame, e_shop: np.ndarray, latest: pd.DataFrame, rng: DayRange) -> pd.DataFrame:
    columns = ["enterprise_id", "report_id", "street_code", "building_id", "is_shop", "day_from", "day_to",
               "planned_reopen_date", "reopened", "actual_reopen_date"]
    if latest.empty:
        return pd.DataFrame(columns=columns)
    n_days, offsets = len(rng.days), rng.offsets
    lat = latest.sort_values(["epos", "rday"], kind="stable").reset_index(drop=True)
    nxt = lat.groupby("epos")["rday"].shift(-1)
    start = np.searchsorted(offsets, lat["rday"].to_numpy(), side="left")
    stop = np.where(nxt.isna(), n_days - 1, np.searchsorted(offsets, nxt.fillna(0).to_numpy(), side="left") - 1).astype(np.int64)
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
        "day_to": _span_ends(rng, stop),
        "planned_reopen_date": _dates(lat["planned"]).to_list(),
        "reopened": [None if v is None or (isinstance(v, float) and np.isnan(v)) else bool(v) for v in lat["reopened"]],
        "actual_reopen_date": _dates(lat["actual"]).to_list(),
    }, columns=columns)
