"""The true figures of the demo city (docs/figures.md), computed from the generator's clean arrays — never
from the messy files — so that an ingest of the inbox can be checked against them.

Semantics, for a day D (D_end = the end of D):
* a report counts on D when submitted_at ≤ D_end; deliberately bad (rejected) rows never count;
* an enterprise's state on D merges its counting reports in submitted_at order, field by field:
  a later non-empty value wins, an empty one never erases;
* enterprises = registry units of kind ≠ 沿街商铺; shops = kind 沿街商铺;
* reopened / shops_open: merged reopened is true and actual_reopen_date is empty or ≤ D;
* reported: non-shop enterprises with at least one counting report;
* reported_on_time: those of them whose merged state is not reopened, or whose actual_reopen_date is on or
  after the day of their first counting report;
* staff_total / staff_returned: sums over non-shop enterprises whose merged state has both;
* buildings: buildings of the unit; buildings_missing: those with a registered non-shop
  enterprise that has not reported by D;
* returning_staff: distinct valid people with return_date ≤ D, in the street of their
  enterprise; in_quarantine: those of them whose quarantine_end ≥ D;
* districts and the city add up their streets.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from etl import config
from etl.democity.world import NONE, SHOP, World, day_to_date

FIGURE_KEYS = ("enterprises", "reopened", "shops", "shops_open", "staff_total", "staff_returned", "reported",
               "reported_on_time", "buildings", "buildings_missing", "returning_staff", "in_quarantine")


def merged_state(w: World, day: int) -> pd.DataFrame:
    """Per enterprise (index), the merged report fields counting at the end of ``day``, and the day of its first
    counting report."""
    r = w.r
    d_end = np.datetime64(day_to_date(day), "s") + np.timedelta64(86399, "s")
    keep = (r["submitted"] <= d_end) & (r["bad"] == 0)
    frame = pd.DataFrame({
        "ent": r["ent"][keep],
        "t": r["submitted"][keep],
        "day": r["day"][keep],
        "reopened": np.where(r["reopened"][keep] < 0, np.nan, r["reopened"][keep].astype(float)),
        "actual": np.where(r["actual"][keep] == NONE, np.nan, r["actual"][keep].astype(float)),
        "staff_total": np.where(r["staff_total"][keep] < 0, np.nan, r["staff_total"][keep].astype(float)),
        "staff_returned": np.where(r["staff_returned"][keep] < 0, np.nan, r["staff_returned"][keep].astype(float)),
    })
    frame = frame.sort_values(["ent", "t"], kind="stable")
    # GroupBy.last() takes the last non-null value of each column: later wins, empty never erases
    merged = frame.groupby("ent")[["reopened", "actual", "staff_total", "staff_returned"]].last()
    merged["first_day"] = frame.groupby("ent")["day"].min()
    return merged


def street_figures(w: World, day: int) -> pd.DataFrame:
    e, b, p = w.e, w.b, w.p
    n_st = w.n_streets
    state = merged_state(w, day)
    n = e["n"]
    reported = np.zeros(n, dtype=bool)
    reopened = np.zeros(n, dtype=bool)
    on_time = np.zeros(n, dtype=bool)
    both = np.zeros(n, dtype=bool)
    st_total = np.zeros(n)
    st_returned = np.zeros(n)
    idx = state.index.to_numpy()
    reported[idx] = True
    act = state["actual"].to_numpy()
    reopened[idx] = (state["reopened"].to_numpy() == 1.0) & (np.isnan(act) | (act <= day))
    on_time[idx] = (state["reopened"].to_numpy() != 1.0) | (act >= state["first_day"].to_numpy())
    has_both = ~np.isnan(state["staff_total"].to_numpy()) & ~np.isnan(state["staff_returned"].to_numpy())
    both[idx] = has_both
    st_total[idx] = np.where(has_both, state["staff_total"].to_numpy(), 0)
    st_returned[idx] = np.where(has_both, state["staff_returned"].to_numpy(), 0)

    shop = e["kind"] == SHOP
    firm = ~shop
    street = e["street"]

    def count(mask: np.ndarray, weights: np.ndarray | None = None, where: np.ndarray = street) -> np.ndarray:
        wts = None if weights is None else weights[mask]
        return np.bincount(where[mask], weights=wts, minlength=n_st).astype(np.int64)

    fig = pd.DataFrame({
        "enterprises": count(firm),
        "reopened": count(firm & reopened),
        "shops": count(shop),
        "shops_open": count(shop & reopened),
        "staff_total": count(firm & both, st_total),
        "staff_returned": count(firm & both, st_returned),
        "reported": count(firm & reported),
        "reported_on_time": count(firm & on_time),
    })
    silent = firm & ~reported & (e["building"] >= 0)
    silent_per_building = np.bincount(e["building"][silent], minlength=b["n"])
    fig["buildings"] = np.bincount(b["street"], minlength=n_st)
    fig["buildings_missing"] = np.bincount(b["street"][silent_per_building > 0], minlength=n_st)
    people = np.arange(p["n"])  # the population; bad-row-only people are not in it
    back = p["ret"][people] <= day
    pst = street[p["ent"][people]]
    fig["returning_staff"] = np.bincount(pst[back], minlength=n_st)
    inq = back & (p["eff_end"][people] != NONE) & (p["eff_end"][people] >= day)
    fig["in_quarantine"] = np.bincount(pst[inq], minlength=n_st)
    return fig.astype(np.int64)


def figures_for(w: World, day: int) -> list[dict]:
    """Rows for city, districts (by code) and streets (by code), as `onenet summary --json` gives."""
    s = w.streets
    st = street_figures(w, day)
    st.index = s["code"].to_numpy()
    by_district = st.groupby(s["parent"].to_numpy()).sum()
    rows = [_row("city", config.CITY_CODE, config.CITY_NAME, st.sum())]
    for code, name in zip(w.districts["code"], w.districts["name"]):
        rows.append(_row("district", code, name, by_district.loc[code]))
    for code, name in zip(s["code"], s["name"]):
        rows.append(_row("street", code, name, st.loc[code]))
    return rows


def _row(level: str, code: str, name: str, values: pd.Series) -> dict:
    out = {"level": level, "code": str(code), "name": str(name)}
    out.update({k: int(values[k]) for k in FIGURE_KEYS})
    out["reopening_rate"] = out["reopened"] / out["enterprises"] if out["enterprises"] else None
    return out


def figure_days() -> list[int]:
    """The campaign days the truth is written for: first Friday, a week later, the last day."""
    return [4, 11, 18]


def date_of(day: int) -> date:
    return day_to_date(day)
