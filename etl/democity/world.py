"""The clean demo city: hierarchy, buildings, enterprises and shops, the reopening story and the
returning staff.  Everything is held in NumPy arrays; nothing here is messy — ``inbox`` spells it
the way departments do, ``truth`` computes the figures from these arrays.

Days are integers relative to the first campaign day (0 = 2020-02-10); a missing day is ``NONE``.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from etl import config
from etl.democity import codes, geo, names
from etl.democity.names import draw_unique

CAMPAIGN_START = date(2020, 2, 10)
CAMPAIGN_DAYS = 19  # 2020-02-10 … 2020-02-28
NONE = -9999
BASE_COUNTS = {"buildings": 1500, "enterprises": 6000, "shops": 3000, "staff": 20000}
KIND_NAMES = ("企业", "个体工商户", "沿街商铺")
FIRM, INDIVIDUAL, SHOP = 0, 1, 2
QUARANTINE = ("居家隔离", "集中隔离", "已解除", "无需隔离")
HOME, CENTRAL, RELEASED, NOT_NEEDED = 0, 1, 2, 3
# Where the offices are: the old city centre is dense, the outer districts and Chongming sparse.
DISTRICT_WEIGHT = {
    "310101": 3.0, "310104": 2.4, "310105": 2.4, "310106": 2.8, "310107": 1.5, "310109": 1.6, "310110": 1.5,
    "310112": 1.1, "310113": 0.9, "310114": 0.9, "310115": 1.4, "310116": 0.45, "310117": 0.8, "310118": 0.7,
    "310120": 0.6, "310151": 0.25,
}
BUILDING_CLASSES = ("full", "partial", "silent")


def day_to_date(day: int) -> date:
    return CAMPAIGN_START + timedelta(days=int(day))


def days_to_datetime64(days: np.ndarray) -> np.ndarray:
    """Day offsets (NONE = missing) → datetime64[D] (NaT = missing)."""
    days = np.asarray(days, dtype=np.int64)
    out = np.datetime64(CAMPAIGN_START, "D") + days.astype("timedelta64[D]")
    return np.where(days == NONE, np.datetime64("NaT"), out)


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per part of the city, so parts do not shift each other."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def scaled(base: int, scale: float) -> int:
    return max(1, int(round(base * scale)))


def name_key(text: str) -> str:
    import re
    import unicodedata

    return re.sub(r"[\s·・.,，、()（）\-]", "", unicodedata.normalize("NFKC", text).lower())


@dataclass
class World:
    seed: int
    scale: float
    # hierarchy
    districts: pd.DataFrame = field(default_factory=pd.DataFrame)  # code, name, short
    streets: pd.DataFrame = field(default_factory=pd.DataFrame)  # code, name, district, d_idx, core, short_ok, weight
    communities: pd.DataFrame = field(default_factory=pd.DataFrame)  # code, name, street_idx, level
    cells: dict = field(default_factory=dict)
    # buildings
    b: dict = field(default_factory=dict)
    # enterprises (firms, individual businesses and shops)
    e: dict = field(default_factory=dict)
    # reopening reports
    r: dict = field(default_factory=dict)
    # returning staff
    p: dict = field(default_factory=dict)

    @property
    def n_streets(self) -> int:
        return len(self.streets)


# --- hierarchy ---------------------------------------------------------------------------------

def load_hierarchy(w: World) -> None:
    from etl.resolve import STREET_SUFFIXES, _core

    d = pd.read_csv(config.SHIPPED_DATA_DIR / "shanghai_districts.csv", dtype=str)
    d = d[d["level"] == "district"].sort_values("code").reset_index(drop=True)
    d["short"] = [n[:-2] if n.endswith("新区") else n[:-1] for n in d["name"]]
    s = pd.read_csv(config.SHIPPED_DATA_DIR / "shanghai_streets.csv", dtype=str).sort_values("code").reset_index(drop=True)
    s = s[s["parent"].isin(d["code"])].reset_index(drop=True)
    s["d_idx"] = s["parent"].map({c: i for i, c in enumerate(d["code"])}).astype(int)
    s["core"] = [_core(n, STREET_SUFFIXES) for n in s["name"]]
    counts = s["core"].value_counts()
    s["short_ok"] = [(counts[c] == 1 and len(c) >= 2 and c != n) for c, n in zip(s["core"], s["name"])]
    s["is_town"] = s["name"].str.endswith(("镇", "乡")) & ~s["name"].str.endswith("街道")
    rng = stream(w.seed, "streets")
    s["weight"] = s["parent"].map(DISTRICT_WEIGHT).astype(float) * rng.lognormal(0.0, 0.45, len(s))
    s.loc[s["is_town"], "weight"] *= 0.7
    w.districts, w.streets = d, s

    rng = stream(w.seed, "communities")
    n_comm = rng.integers(2, 5, len(s))
    street_idx = np.repeat(np.arange(len(s)), n_comm)
    village = np.repeat(s["is_town"].to_numpy(), n_comm) & (rng.random(len(street_idx)) < 0.45)
    comm_names = np.empty(len(street_idx), dtype=object)
    for flag in (False, True):
        sel = np.flatnonzero(village == flag)
        comm_names[sel] = draw_unique(
            lambda g, m, a, flag=flag: names.community_names(g, m, np.full(m, flag)), rng, len(sel),
            groups=street_idx[sel])
    seq = np.zeros(len(street_idx), dtype=int)
    res_no = np.zeros(len(s), dtype=int)
    vil_no = np.zeros(len(s), dtype=int)
    for i, (st, v) in enumerate(zip(street_idx.tolist(), village.tolist())):
        if v:
            vil_no[st] += 1
            seq[i] = 200 + vil_no[st]
        else:
            res_no[st] += 1
            seq[i] = res_no[st]
    w.communities = pd.DataFrame({
        "code": [f"{s['code'].iat[st]}{q:03d}" for st, q in zip(street_idx.tolist(), seq.tolist())],
        "name": comm_names.astype(str),
        "street_idx": street_idx,
        "level": np.where(village, "村委", "居委"),
    })
    starts = np.concatenate([[0], np.cumsum(n_comm)[:-1]])
    w.streets["comm_start"], w.streets["comm_n"] = starts, n_comm


# --- buildings ---------------------------------------------------------------------------------

def make_buildings(w: World, district_polygons: dict) -> None:
    rng = stream(w.seed, "buildings")
    s = w.streets
    n = scaled(BASE_COUNTS["buildings"], w.scale)
    p = s["weight"].to_numpy() / s["weight"].sum()
    street = np.sort(rng.choice(len(s), n, p=p))
    bname = draw_unique(names.building_names, rng, n, groups=street, key=name_key)
    comm = s["comm_start"].to_numpy()[street] + (rng.random(n) * s["comm_n"].to_numpy()[street]).astype(int)
    addr = np.char.add(np.char.add(names.pick(rng, names.ROADS, n), rng.integers(1, 2000, n).astype(str)), "号")
    owner = names.property_company_names(rng, n)
    contact = names.person_names(rng, n)
    mobile = mobiles(rng, n)
    landline = rng.integers(20000000, 69999999, n)
    use_land = rng.random(n) < 0.35
    suffix_kind = np.array([next((v for k, v in names.BUILDING_KIND_BY_SUFFIX.items() if k in x), "商务楼宇")
                            for x in bname.tolist()])
    capacity = rng.lognormal(0.0, 0.8, n)
    klass = rng.choice(3, n, p=[0.5, 0.35, 0.15])

    # coordinates: every street's Voronoi cell inside its district, buildings around its centre
    lng = np.zeros(n)
    lat = np.zeros(n)
    geo_rng = stream(w.seed, "geo")
    cells = {}
    for d_idx, dcode in enumerate(w.districts["code"]):
        poly = district_polygons[dcode]
        st_idx = np.flatnonzero(s["d_idx"].to_numpy() == d_idx)
        st_codes = s["code"].to_numpy()[st_idx].tolist()
        dcells = geo.street_cells(poly, st_codes, geo_rng)
        cells.update(dcells)
        for si, code in zip(st_idx.tolist(), st_codes):
            sel = np.flatnonzero(street == si)
            if not len(sel):
                continue
            cell = dcells[code]
            centre = cell.representative_point()
            spread = max(np.sqrt(cell.area) / 5, 0.002)
            near = int(round(len(sel) * 0.7))
            pts = np.vstack([geo.sample_near(cell, (centre.x, centre.y), spread, near, geo_rng),
                             geo.sample_in(cell, len(sel) - near, geo_rng)])
            lng[sel], lat[sel] = pts[:, 0], pts[:, 1]
    w.cells = cells
    w.b = {
        "n": n, "street": street, "name": bname, "community": comm, "address": addr, "owner": owner,
        "contact": contact, "mobile": mobile, "landline": landline, "use_landline": use_land,
        "type": suffix_kind, "capacity": capacity, "klass": klass, "lng": lng, "lat": lat,
    }


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
                         166, 173, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199], dtype=np.int64)
    return prefixes[rng.integers(0, len(prefixes), n)] * 100_000_000 + rng.integers(0, 100_000_000, n)


# --- enterprises -------------------------------------------------------------------------------

def make_enterprises(w: World) -> None:
    rng = stream(w.seed, "enterprises")
    s, b = w.streets, w.b
    n_nonshop = scaled(BASE_COUNTS["enterprises"], w.scale)
    n_shop = scaled(BASE_COUNTS["shops"], w.scale)
    n = n_nonshop + n_shop
    kind = np.where(np.arange(n) < n_nonshop, np.where(rng.random(n) < 0.85, FIRM, INDIVIDUAL), SHOP)
    cap = b["capacity"] / b["capacity"].sum()
    in_building = np.where(kind == FIRM, True, rng.random(n) < np.where(kind == INDIVIDUAL, 0.5, 0.55))
    building = np.where(in_building, rng.choice(b["n"], n, p=cap), -1)
    sp = s["weight"].to_numpy() / s["weight"].sum()
    street = np.where(building >= 0, b["street"][np.maximum(building, 0)], rng.choice(len(s), n, p=sp))

    ename = np.empty(n, dtype=object)
    industry = np.empty(n, dtype=object)
    firms = np.flatnonzero(kind == FIRM)
    fnames, find = draw_unique(names.firm_names, rng, len(firms), key=name_key)
    ename[firms] = fnames
    industry[firms] = np.array([c for _, c in names.INDUSTRY_WORDS])[find.astype(int)]
    small = np.flatnonzero(kind != FIRM)
    snames, sind = draw_unique(names.shop_names, rng, len(small), groups=street[small], key=name_key)
    dnames = w.districts["name"].to_numpy()[s["d_idx"].to_numpy()[street[small]]]
    individual = kind[small] == INDIVIDUAL
    prefix = np.where(rng.random(len(small)) < 0.5, np.char.add("上海市", dnames.astype(str)), dnames.astype(str))
    ename[small] = np.where(individual, np.char.add(prefix, snames.astype(str)), snames)
    industry[small] = np.array([c for _, c in names.SHOP_TYPES])[sind.astype(int)]

    # unified social credit codes: every firm, some individual businesses and shops
    has_uscc = (kind == FIRM) | ((kind == INDIVIDUAL) & (rng.random(n) < 0.6)) | ((kind == SHOP) & (rng.random(n) < 0.4))
    type_digit = np.where(kind == FIRM, 1, np.where(rng.random(n) < 0.8, 2, 1))
    dcode = s["parent"].to_numpy()[street].astype(np.int64)
    uscc = np.full(n, "", dtype=object)
    idx = np.flatnonzero(has_uscc)
    taken: set[str] = set()
    todo = idx
    while len(todo):
        made = codes.usccs(rng, type_digit[todo], dcode[todo])
        redo = []
        for i, code in zip(todo.tolist(), made.tolist()):
            if code in taken:
                redo.append(i)
            else:
                taken.add(code)
                uscc[i] = code
        todo = np.array(redo, dtype=int)

    staff_reg = np.where(kind == FIRM, np.clip(rng.lognormal(3.0, 1.1, n), 3, 3000),
                         np.where(kind == INDIVIDUAL, rng.integers(1, 9, n), rng.integers(2, 21, n))).astype(np.int64)
    staff_true = np.where(rng.random(n) < 0.75, staff_reg,
                          np.maximum(1, np.round(staff_reg * rng.uniform(0.8, 1.2, n)))).astype(np.int64)
    room = np.where(kind == SHOP, np.char.add(rng.integers(1, 3, n).astype(str), "层商铺"),
                    np.char.add(rng.integers(1, 40, n).astype(str), np.char.add("层", np.char.add(
                        rng.integers(1, 30, n).astype(str), "室"))))
    own_addr = np.char.add(np.char.add(names.pick(rng, names.ROADS, n), rng.integers(1, 3000, n).astype(str)), "号")
    address = np.where(building >= 0, np.char.add(b["address"][np.maximum(building, 0)].astype(str), room), own_addr)
    w.e = {
        "n": n, "kind": kind, "name": ename.astype(str), "uscc": uscc.astype(str), "street": street,
        "building": building, "industry": industry.astype(str), "staff_reg": staff_reg, "staff_true": staff_true,
        "address": address, "contact": names.person_names(rng, n), "mobile": mobiles(rng, n),
    }


# --- the reopening story -------------------------------------------------------------------------

def make_story(w: World) -> None:
    """Who reports when, and what each report says (reports of one enterprise on distinct days)."""
    rng = stream(w.seed, "story")
    e, b = w.e, w.b
    n = e["n"]
    last = CAMPAIGN_DAYS - 1
    kind = e["kind"]
    # latent plan and actual reopening day
    planned = np.where(rng.random(n) < 0.35, 0, np.where(rng.random(n) < 0.3, 7, rng.integers(1, 31, n)))
    planned = np.where(kind == SHOP, planned + rng.integers(0, 6, n), planned)
    delay = np.where(rng.random(n) < 0.5, 0, np.where(rng.random(n) < 0.6, rng.integers(1, 4, n), rng.integers(4, 11, n)))
    will_reopen = rng.random(n) < np.where(kind == SHOP, 0.78, 0.85)
    actual = np.where(will_reopen, planned + delay, NONE)
    # who reports at all: follows the building's habits
    klass = np.where(e["building"] >= 0, b["klass"][np.maximum(e["building"], 0)], -1)
    p_report = np.select([klass == 0, klass == 1, klass == 2], [1.0, 0.55, 0.0], 0.7)
    p_report = np.where(kind == SHOP, np.minimum(p_report, 0.8) + np.where(klass == 2, 0.25, 0.0), p_report)
    reports = rng.random(n) < p_report
    first_w = np.exp(-np.arange(CAMPAIGN_DAYS) / 4.5) + 0.04
    first = rng.choice(CAMPAIGN_DAYS, n, p=first_w / first_w.sum())
    # follow-up reports
    n_more = rng.choice(4, n, p=[0.5, 0.32, 0.13, 0.05])
    gaps = rng.integers(1, 6, (n, 3))
    days = np.full((n, 5), NONE, dtype=np.int64)
    days[:, 0] = first
    cur = first.copy()
    for j in range(3):
        cur = cur + gaps[:, j]
        ok = (j < n_more) & (cur <= last)
        days[:, j + 1] = np.where(ok, cur, NONE)
    latest = days[:, :4].max(axis=1)
    update = (actual != NONE) & (actual > first) & (actual <= last) & (latest < actual) & (rng.random(n) < 0.6)
    upd_day = np.where(rng.random(n) < 0.5, actual, np.minimum(actual + 1, last))
    days[:, 4] = np.where(update, upd_day, NONE)
    days[~reports] = NONE

    ent = np.repeat(np.arange(n), 5)
    day = days.ravel()
    keep = day != NONE
    ent, day = ent[keep], day[keep]
    order = np.lexsort((day, ent))
    ent, day = ent[order], day[order]
    m = len(ent)
    first_of = np.r_[True, ent[1:] != ent[:-1]]
    seq = np.arange(m) - np.maximum.accumulate(np.where(first_of, np.arange(m), 0))

    # submission time: a morning wave before the 10:00 deadline, the rest of the day until 22:00
    early = rng.random(m) < 0.4
    seconds = np.where(early, rng.integers(7 * 3600 + 1800, 10 * 3600, m), rng.integers(10 * 3600, 22 * 3600, m))
    qr = rng.random(m) < 0.15
    seconds = np.where(qr, rng.integers(7 * 3600, 23 * 3600, m), seconds)
    submitted = (np.datetime64(CAMPAIGN_START, "s") + (day * 86400 + seconds).astype("timedelta64[s]"))
    file_day = np.where((seconds >= 20 * 3600) & (day < last), day + 1, day)

    A = actual[ent]
    P = planned[ent]
    state = (A != NONE) & (A <= day)
    announcer = (rng.random(n) < 0.3)[ent]  # says "reopened" a few days ahead, with the date
    announce = (A != NONE) & (day < A) & (A <= day + 3) & announcer
    reopened = (state | announce).astype(np.int8)
    prev = np.r_[-1, reopened[:-1]]
    prev = np.where(first_of, -1, prev)
    u = rng.random((m, 8))
    rep_reopened = np.where((~first_of) & (reopened == prev) & (u[:, 0] < 0.12), -1, reopened)
    act = np.where(reopened == 1, A, NONE)
    drop_act = (reopened == 1) & ~announce & (u[:, 1] < np.where(rep_reopened == -1, 0.5, 0.15))
    act = np.where(drop_act, NONE, act)
    plan_now = np.where((A != NONE) & (A > P) & (day >= P), A, P)
    plan = np.where(u[:, 2] < np.where(first_of, 0.92, 0.5), plan_now, NONE)
    T = e["staff_true"][ent]
    staff_total = np.where(u[:, 3] < np.where(first_of, 0.9, 0.65), T, -1)
    base = rng.uniform(0.0, 0.2, n)[ent]
    slope = rng.uniform(0.02, 0.05, n)[ent]
    frac = np.clip(base + slope * (day + 10) + 0.3 * state, 0, 1)
    returned = np.floor(T * frac).astype(np.int64)
    staff_returned = np.where(u[:, 4] < np.where(first_of, 0.9, 0.8), returned, -1)
    q = rng.uniform(0, 0.15, n)[ent]
    staff_q = np.where(u[:, 5] < 0.6, np.floor(returned * q).astype(np.int64), -1)
    contact = u[:, 6] < np.where(first_of, 0.95, 0.6)
    has_uscc = e["uscc"][ent] != ""
    show_uscc = has_uscc & (u[:, 7] < 0.9)
    show_building = (e["building"][ent] >= 0) & (rng.random(m) < 0.8)
    copy = qr & (rng.random(m) < 0.2)  # QR submissions the street office also typed into its sheet

    # deliberately bad rows, rejected: a mistyped USCC check character without a name, a 填报时间 in the future
    bad = np.zeros(m, dtype=np.int8)  # 0 fine, 1 enterprise_missing, 2 future_date
    n_bad = max(1, int(round(4 * w.scale)))
    cand = np.flatnonzero(~qr & show_uscc)
    if len(cand):
        bad[rng.choice(cand, min(n_bad, len(cand)), replace=False)] = 1
    cand = np.flatnonzero(~qr & (plan != NONE) & (bad == 0))
    if len(cand):
        bad[rng.choice(cand, min(n_bad, len(cand)), replace=False)] = 2

    w.r = {
        "n": m, "ent": ent, "day": day, "seq": seq, "first": first_of, "submitted": submitted,
        "file_day": file_day, "qr": qr, "copy": copy, "reopened": rep_reopened, "actual": act, "planned": plan,
        "staff_total": staff_total, "staff_returned": staff_returned, "staff_q": staff_q, "contact": contact,
        "show_uscc": show_uscc, "show_building": show_building, "bad": bad,
        "latent_planned": planned, "latent_actual": actual,
    }


# --- returning staff ---------------------------------------------------------------------------

def make_staff(w: World) -> None:
    rng = stream(w.seed, "staff")
    e = w.e
    n = scaled(BASE_COUNTS["staff"], w.scale)
    n_extra = 6 * max(2, int(round(3 * w.scale)))  # fresh people for deliberately bad rows
    total = n + n_extra
    ow = np.array([o[1] for o in names.ORIGINS], dtype=float)
    origin = rng.choice(len(names.ORIGINS), total, p=ow / ow.sum())
    id_origin = np.where(rng.random(total) < 0.75, origin, rng.choice(len(names.ORIGINS), total, p=ow / ow.sum()))
    birth = np.datetime64("1958-01-01") + rng.integers(0, 16000, total).astype("timedelta64[D]")
    prefixes = [o[2] for o in names.ORIGINS]
    first17 = codes.resident_ids(rng, prefixes, id_origin, birth)
    # one ID per person: redraw sequence numbers of duplicates
    while True:
        key = (first17 @ (10 ** np.arange(16, -1, -1, dtype=np.int64)))
        _, first_pos, counts = np.unique(key, return_index=True, return_counts=True)
        dup = np.ones(total, dtype=bool)
        dup[first_pos] = False
        if not dup.any():
            break
        first17[dup, 14:17] = codes.int_digits(rng.integers(1, 1000, int(dup.sum())), 3)
    check = codes.ric_check(first17)
    id18 = np.char.add(codes.digits_to_str(first17), check)

    weights = e["staff_reg"].astype(float)
    ent = rng.choice(e["n"], total, p=weights / weights.sum())
    local = origin == [o[0] for o in names.ORIGINS].index(names.LOCAL_ORIGIN)
    hubei = np.isin(origin, [i for i, o in enumerate(names.ORIGINS) if o[0] in names.HUBEI])
    mix = rng.random(total)
    ret = np.where(mix < 0.1, rng.integers(-23, -14, total),
                   np.where(mix < 0.8, np.clip(np.round(rng.normal(0, 6, total)), -14, 18), rng.integers(5, 22, total)))
    ret = ret.astype(np.int64)
    status = np.where(local, NOT_NEEDED,
                      np.where(ret <= -15, RELEASED,
                               np.where(hubei, np.where(rng.random(total) < 0.75, CENTRAL, HOME),
                                        np.where(rng.random(total) < 0.7, HOME, NOT_NEEDED))))
    long_stay = (status == CENTRAL) & (rng.random(total) < 0.1)
    end = np.where(np.isin(status, [HOME, CENTRAL, RELEASED]), ret + np.where(long_stay, 21, 14), NONE)
    end_written = np.where(long_stay, True, np.where(status == RELEASED, rng.random(total) < 0.7,
                                                     np.where(end != NONE, rng.random(total) < 0.6, False)))
    eff_end = np.where(end_written, end, np.where(np.isin(status, [HOME, CENTRAL]), ret + 14, NONE))
    births_1900s = birth < np.datetime64("2000-01-01")
    qr = rng.random(total) < 0.12
    dup = rng.random(total) < 0.04
    old15 = births_1900s & (rng.random(total) < 0.02)
    dup_old15 = births_1900s & (rng.random(total) < 0.4)
    temp = np.where(rng.random(total) < 0.7, np.round(rng.uniform(36.0, 37.2, total), 1), np.nan)
    w.p = {
        "n": n, "n_extra": n_extra, "first17": first17, "id18": id18, "name": names.person_names(rng, total),
        "mobile": mobiles(rng, total), "ent": ent, "origin": origin, "ret": ret, "status": status, "end": end,
        "end_written": end_written, "eff_end": eff_end, "qr": qr, "dup": dup, "old15": old15,
        "dup_old15": dup_old15, "temp": temp, "births_1900s": births_1900s,
        "health": names.pick(rng, ["健康", "正常", "良好", "无异常", "无发热"], total),
        "qr_seconds": rng.integers(7 * 3600, 23 * 3600, total),
    }


def build(seed: int, scale: float, district_polygons: dict) -> World:
    w = World(seed=seed, scale=scale)
    load_hierarchy(w)
    make_buildings(w, district_polygons)
    make_enterprises(w)
    make_story(w)
    make_staff(w)
    return w
