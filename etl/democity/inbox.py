"""The messy inbox: what the departments of the demo city send to the street office.

Files: one division registry (区划表); per district a building registry (楼宇台账), an enterprise
registry (企业名录, sometimes with shops in a sheet or file of their own) and a returning-staff
list (返岗人员登记); per district and campaign day a reopening report file (企业复工申报); weekly
QR-form exports of reopening reports (提交编号, 提交时间) and one of returning staff; one corrupt
workbook.  Formats rotate over .xlsx, .xls and CSV in UTF-8, UTF-8 with BOM and GBK; each file
draws its own header spellings (schemas.sources), date and yes/no spellings and oddities.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from etl.democity import codes, messy, names
from etl.democity.world import (
    CAMPAIGN_DAYS, FIRM, INDIVIDUAL, NONE, QUARANTINE, SHOP, World, day_to_date, days_to_datetime64, stream,
)
from etl.democity.writers import Sheet, csv_frame, write_csv, write_xls, write_xlsx
from schemas import sources as S

FORMATS = ("xlsx", "xls", "csv-utf8", "csv-bom", "csv-gbk")
ENCODINGS = {"csv-utf8": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk": "gbk"}
XLSX_MAX_ROWS = 30_000
XLS_MAX_ROWS = 60_000
NOTES = [
    "填表说明：",
    "1. 请勿修改表头，请勿合并单元格。",
    "2. 身份证号请先把该列设置为文本格式再录入，避免末几位变成 000。",
    "3. 日期请按 2020-02-10 的格式填写。",
    "4. 本表每日 10:00 前报送街道（镇）防控办。",
]
IMPOSSIBLE_DATES = ["2020-02-30", "2020年2月31日", "2020/13/5", "2020.2.30", "2月30日"]
FUTURE_SUBMITTED = ["2202-02-10 09:30", "2220年2月12日 10:00", "2202/2/14 16:45"]  # 2020 mistyped: rejected
WARNED = frozenset({"return_date_warning"})
"""Deliberately bad values that are optional: left empty with a warning, the row loads (docs/rules.md)."""
UNKNOWN_STREETS = ["光明路街道", "解放路街道", "幸福里街道", "人民广场街道", "东风镇"]
QUARANTINE_ALIASES = {0: ["居家观察", "居家医学观察", "居家"], 1: ["集中观察", "集中医学观察", "集中"],
                      2: ["已解除隔离", "解除隔离"], 3: ["无", "无需"]}
ORIGIN_LONG = {
    "湖北武汉": "湖北省武汉市", "湖北孝感": "湖北省孝感市", "湖北黄冈": "湖北省黄冈市", "安徽阜阳": "安徽省阜阳市",
    "安徽六安": "安徽省六安市", "安徽安庆": "安徽省安庆市", "河南信阳": "河南省信阳市", "河南周口": "河南省周口市",
    "河南商丘": "河南省商丘市", "江苏盐城": "江苏省盐城市", "江苏南通": "江苏省南通市", "浙江温州": "浙江省温州市",
    "江西上饶": "江西省上饶市", "四川达州": "四川省达州市", "重庆万州": "重庆市万州区", "山东临沂": "山东省临沂市",
    "湖南邵阳": "湖南省邵阳市", "甘肃天水": "甘肃省天水市", "黑龙江哈尔滨": "黑龙江省哈尔滨市", "广东广州": "广东省广州市",
    "上海本地": "上海",
}


def frame(cols: dict) -> pd.DataFrame:
    """A frame of raw cells: object dtype, so None stays None and numbers stay numbers."""
    return pd.DataFrame(cols, dtype=object)


def seq_cells(n: int, target: str) -> pd.Series:
    return pd.Series(list(range(1, n + 1)) if target != "csv" else [str(i) for i in range(1, n + 1)], dtype=object)


@dataclass
class FileRecord:
    path: Path
    kind: str
    fmt: str  # xlsx | xls | csv
    encoding: str | None
    rows: int = 0  # data rows (valid and deliberately bad), without title/header/blank/total rows
    rejected: Counter = field(default_factory=Counter)  # expected rejects by reason code
    warned: Counter = field(default_factory=Counter)  # expected warnings (rows loaded, a value left empty)
    features: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"file": self.path.name, "kind": self.kind, "format": self.fmt, "encoding": self.encoding,
                "rows": self.rows, "rejected": dict(sorted(self.rejected.items())),
                "warned": dict(sorted(self.warned.items())), "sheets": self.sheets,
                "features": self.features}


@dataclass
class Table:
    """Cells of one table before it is written: (field, header) per column plus extra bits."""

    fields: list[str]
    headers: list[str]
    cells: pd.DataFrame
    bad: np.ndarray  # reason code or "" per row
    sheet_key: np.ndarray | None = None  # rows with equal keys go to one sheet


class InboxWriter:
    def __init__(self, w: World, inbox: Path, progress: Callable[[str], None] | None = None):
        self.w = w
        self.inbox = inbox
        self.progress = progress or (lambda msg: None)
        self.records: list[FileRecord] = []
        self.district_names = w.districts["name"].tolist()
        self.district_short = w.districts["short"].tolist()
        s = w.streets
        self.street_name = s["name"].to_numpy().astype(str)
        self.street_core = s["core"].to_numpy().astype(str)
        self.street_short_ok = s["short_ok"].to_numpy()
        self.street_district = s["d_idx"].to_numpy()
        self.ent_district = self.street_district[w.e["street"]]
        self.building_district = self.street_district[w.b["street"]]

    # --- shared spellers ------------------------------------------------------------------------

    def header(self, kind: S.SourceKind, fname: str, rng: np.random.Generator, target: str) -> str:
        f = kind.field(fname)
        spellings = f.spellings
        text = spellings[0] if rng.random() < 0.5 else spellings[int(rng.integers(0, len(spellings)))]
        roll = rng.random()
        if f.parser == S.INT and roll < 0.25:
            text += "（人）" if rng.random() < 0.5 else "(人)"
        elif fname == "temperature" and roll < 0.5:
            text += "(℃)"
        elif f.required and roll < 0.15:
            text = "*" + text
        elif roll < 0.05:
            text = text + " " if target != "csv" else "\u3000" + text
        return text

    def street_cells(self, street: np.ndarray, rng: np.random.Generator, target: str, gbk: bool) -> np.ndarray:
        """Full names mostly; the short name (江苏路) or …办事处 where the short name is unique in the city."""
        full = self.street_name[street].astype(object)
        short_ok = self.street_short_ok[street]
        roll = rng.random(len(street))
        cells = full.copy()
        use_short = short_ok & (roll < 0.2)
        cells[use_short] = self.street_core[street][use_short]
        office = short_ok & (roll >= 0.2) & (roll < 0.25) & np.char.endswith(self.street_name[street], "街道")
        cells[office] = np.char.add(self.street_name[street][office], "办事处")
        return messy.pad(cells, rng, 0.03, gbk)

    def district_cells(self, d_idx: np.ndarray, rng: np.random.Generator, gbk: bool) -> np.ndarray:
        full = np.array(self.district_names)[d_idx].astype(object)
        short = np.array(self.district_short)[d_idx].astype(object)
        city = np.char.add("上海市", np.array(self.district_names)[d_idx]).astype(object)
        roll = rng.random(len(d_idx))
        cells = np.where(roll < 0.55, full, np.where(roll < 0.93, short, city)).astype(object)
        return messy.pad(cells, rng, 0.03, gbk)

    def names_cells(self, values: np.ndarray, rng: np.random.Generator, gbk: bool, p_pad: float = 0.03) -> np.ndarray:
        cells = np.asarray(values, dtype=object).copy()
        # brackets typed either way: （上海） / (上海)
        swap = rng.random(len(cells)) < 0.1
        for i in np.flatnonzero(swap).tolist():
            v = cells[i]
            if isinstance(v, str) and "（" in v:
                cells[i] = v.replace("（", "(").replace("）", ")")
        return messy.pad(cells, rng, p_pad, gbk)

    def uscc_cells(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cells = np.where(values == "", None, values).astype(object)
        roll = rng.random(len(cells))
        for i in np.flatnonzero(roll < 0.04).tolist():
            v = cells[i]
            if v is None:
                continue
            cells[i] = v.lower() if roll[i] < 0.025 else f"{v[:6]} {v[6:12]} {v[12:]}"
        return cells

    def date_styles(self, rng: np.random.Generator, target: str, n: int) -> np.ndarray:
        if target == "csv":
            pool = [0, 1, 2, 3, 4, 5, 8, 6]
            weights = np.array([5, 4, 2, 3, 1, 1, 1, 0.5])
        else:
            pool = [0, 1, 2, 3, 4, 5, 6, 7, 8]
            weights = np.array([3, 3, 1, 2, 1, 1, 1.5, 4, 1])
        main = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
        others = tuple(x for x in pool if x != main)
        return messy.styles_for(rng, n, main, others, 0.08)

    def datetime_styles(self, rng: np.random.Generator, target: str, n: int) -> np.ndarray:
        if target == "csv":
            pool, weights = [0, 1, 2, 3, 4, 5, 6], np.array([5, 4, 1, 2, 1, 1, 0.5])
        else:
            pool, weights = [0, 1, 2, 3, 4, 5, 6, 7], np.array([3, 3, 1, 1, 1, 1, 1, 4])
        main = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
        others = tuple(x for x in pool if x != main)
        return messy.styles_for(rng, n, main, others, 0.05)

    # --- file plumbing -------------------------------------------------------------------------

    def emit(self, path: Path, kind: str, fmt: str, sheets: list[Sheet], tables_bad: list[np.ndarray],
             features: list[str]) -> FileRecord:
        target = "csv" if fmt.startswith("csv") else fmt
        encoding = ENCODINGS.get(fmt)
        if target == "xlsx":
            write_xlsx(path, sheets)
        elif target == "xls":
            write_xls(path, sheets)
        else:
            assert len([s for s in sheets if not s.notes]) == 1
            data_sheet = next(s for s in sheets if not s.notes)
            write_csv(path, data_sheet, encoding)
        rec = FileRecord(path=path, kind=kind, fmt=target, encoding=encoding,
                         sheets=[s.name for s in sheets] if target != "csv" else [], features=sorted(set(features)))
        for bad in tables_bad:
            rec.rows += len(bad)
            rec.rejected.update(b for b in bad.tolist() if b and b not in WARNED)
            rec.warned.update(b for b in bad.tolist() if b in WARNED)
        self.records.append(rec)
        return rec

    def dress(self, sheet: Sheet, rng: np.random.Generator, fmt: str, titles: list[str],
              groups: list[tuple[str, list[str]]], fields: list[str], total: Callable[[], list] | None,
              features: list[str], p_total: float = 0.5, p_blank: float = 0.5, p_group: float = 0.45) -> None:
        """Title rows, a merged group header, blank rows and a totals row, each by chance."""
        n_titles = int(rng.choice(3, p=[0.3, 0.45, 0.25]))
        sheet.titles = titles[:n_titles]
        if n_titles:
            features.append(f"title_rows:{n_titles}")
        if groups and rng.random() < p_group:
            merged = []
            for label, members in groups:
                cols = [fields.index(m) for m in members if m in fields]
                if len(cols) >= 2 and cols == list(range(cols[0], cols[0] + len(cols))):
                    merged.append((label, cols[0], cols[-1]))
            if merged:
                sheet.groups = merged
                features.append("merged_two_row_header")
        n = len(sheet.data) if sheet.data is not None else 0
        if n > 3 and rng.random() < p_blank:
            k = int(rng.integers(1, 4))
            sheet.blank_after = sorted(rng.choice(n - 1, size=min(k, n - 1), replace=False).tolist())
            features.append("blank_rows")
        if total is not None and n and rng.random() < p_total:
            row = total()
            if fields and fields[0] == "_seq":
                if rng.random() < 0.5:  # 合计 written over the first named column instead of 序号
                    row[1] = "合计" + (str(row[1]) if row[1] is not None else "")
                    row[0] = None
                else:
                    features.append("total_in_seq_column")
            sheet.total = row
            features.append("total_row")

    def formats_for(self, key: str, count: int) -> list[str]:
        """Formats rotating over FORMATS (shuffled per kind) so that every one appears."""
        rng = stream(self.w.seed, f"formats:{key}")
        order = list(rng.permutation(len(FORMATS)))
        return [FORMATS[order[i % len(FORMATS)]] for i in range(count)]

    @staticmethod
    def fit_format(fmt: str, rows: int) -> str:
        if fmt == "xlsx" and rows > XLSX_MAX_ROWS:
            return "csv-bom"
        if fmt == "xls" and rows > XLS_MAX_ROWS:
            return "csv-gbk"
        return fmt

    @staticmethod
    def suffix(fmt: str) -> str:
        return ".xlsx" if fmt == "xlsx" else ".xls" if fmt == "xls" else ".csv"

    # --- division registry ---------------------------------------------------------------------

    def write_divisions(self) -> None:
        w = self.w
        rng = stream(w.seed, "file:divisions")
        kind = S.DIVISION_REGISTRY
        target = "xlsx"
        s = w.streets
        st_level = np.where(s["name"].str.endswith("街道"), "街道", np.where(s["name"].str.endswith("乡"), "乡", "镇"))
        st_codes = s["code"].to_numpy().astype(object)
        as_number = rng.random(len(s)) < 0.3
        st_codes[as_number] = [int(c) for c in st_codes[as_number]]
        fields = ["code", "name", "level", "parent"]
        headers = [self.header(kind, f, rng, target) for f in fields]
        street_data = frame({
            "code": st_codes, "name": messy.pad(s["name"].to_numpy().astype(object), rng, 0.03),
            "level": st_level.astype(object), "parent": s["parent"].to_numpy().astype(object),
        })
        c = w.communities
        c_level = np.where(c["level"] == "村委", np.where(rng.random(len(c)) < 0.3, "村委会", "村委"),
                           np.where(rng.random(len(c)) < 0.3, "居委会", "居委"))
        c_codes = c["code"].to_numpy().astype(object)
        as_number = rng.random(len(c)) < 0.3
        c_codes[as_number] = [int(x) for x in c_codes[as_number]]
        comm_data = frame({
            "code": c_codes, "name": messy.pad(c["name"].to_numpy().astype(object), rng, 0.03),
            "level": c_level.astype(object), "parent": s["code"].to_numpy()[c["street_idx"].to_numpy()].astype(object),
        })
        features = ["codes_as_numbers", "several_sheets", "hidden_notes_sheet"]
        sheet1 = Sheet("街镇", headers, street_data, titles=["上海市街道（镇、乡）统计用区划代码（2020年）"])
        headers2 = [self.header(kind, f, rng, target) for f in fields]
        sheet2 = Sheet("居（村）委会", headers2, comm_data, titles=["上海市居（村）委会统计用区划代码（2020年）", "单位：个"],
                       total=["合计", f"{len(c)}个", None, None], blank_after=[int(len(c) // 2)])
        features += ["title_rows:2", "total_row", "blank_rows"]
        notes = Sheet("说明", notes=["数据来源：市统计局统计用区划代码", "级别：街道 / 镇 / 乡 / 居委 / 村委"], hidden=True)
        path = self.inbox / "上海市街镇居村委区划代码表.xlsx"
        self.emit(path, "division", "xlsx", [sheet1, sheet2, notes],
                  [np.full(len(street_data), ""), np.full(len(comm_data), "")], features)

    # --- building registries -------------------------------------------------------------------

    def write_buildings(self) -> None:
        w, b = self.w, self.w.b
        kind = S.BUILDING_REGISTRY
        fmts = self.formats_for("building", len(self.district_names))
        for d_idx, dname in enumerate(self.district_names):
            sel = np.flatnonzero(self.building_district == d_idx)
            if not len(sel):
                continue
            sel = sel[np.lexsort((b["name"][sel], b["street"][sel]))]
            rng = stream(w.seed, f"file:building:{d_idx}")
            fmt = self.fit_format(fmts[d_idx], len(sel))
            target = "csv" if fmt.startswith("csv") else fmt
            gbk = fmt == "csv-gbk"
            features: list[str] = [f"format:{fmt}"]
            fields = ["building", "address", "street"]
            if rng.random() < 0.6:
                fields.append("district")
            fields += ["community", "lng", "lat", "owner", "owner_contact", "owner_phone", "building_type"]
            n = len(sel)
            comm = w.communities
            comm_name = comm["name"].to_numpy().astype(str)[b["community"][sel]]
            comm_short = np.char.replace(comm_name, "居委会", "")
            comm_cells = np.where(rng.random(n) < 0.3, comm_short, comm_name).astype(object)
            phone = np.where(b["use_landline"][sel], messy.spell_landlines(b["landline"][sel], rng),
                             messy.spell_mobiles(b["mobile"][sel], rng))
            lng, lat = b["lng"][sel], b["lat"][sel]
            if target == "csv":
                lng_c = np.array([f"{x:.6f}" for x in lng], dtype=object)
                lat_c = np.array([f"{x:.6f}" for x in lat], dtype=object)
            else:
                lng_c, lat_c = lng.astype(object), lat.astype(object)
            cols = {
                "building": self.names_cells(b["name"][sel], rng, gbk),
                "address": messy.pad(b["address"][sel].astype(object), rng, 0.02, gbk),
                "street": self.street_cells(b["street"][sel], rng, target, gbk),
                "district": self.district_cells(np.full(n, d_idx), rng, gbk),
                "community": messy.pad(comm_cells, rng, 0.03, gbk),
                "lng": lng_c, "lat": lat_c,
                "owner": self.names_cells(b["owner"][sel], rng, gbk),
                "owner_contact": messy.pad(b["contact"][sel].astype(object), rng, 0.03, gbk),
                "owner_phone": phone,
                "building_type": b["type"][sel].astype(object),
            }
            headers = [self.header(kind, f, rng, target) for f in fields]
            data = frame({f: cols[f] for f in fields})
            with_seq = rng.random() < 0.6
            if with_seq:
                data.insert(0, "_seq", seq_cells(n, target))
                headers = ["序号"] + headers
                fields = ["_seq"] + fields
            if target == "csv":
                data = csv_frame(data)
            sheet = Sheet("楼宇台账", headers, data)
            self.dress(sheet, rng, fmt, [f"{dname}重点楼宇台账", f"填报单位：{dname}商务委  更新日期：2020年2月8日"],
                       [("位置", ["lng", "lat"]), ("物业信息", ["owner", "owner_contact", "owner_phone"])], fields,
                       lambda: ["合计", f"{n}栋"] + [None] * (len(fields) - 2), features)
            sheets = [sheet]
            if target != "csv":
                streets = b["street"][sel]
                uniq, counts = np.unique(streets, return_counts=True)
                summary = frame({"a": self.street_name[uniq].astype(object), "b": counts.astype(object)})
                sheets.append(Sheet("汇总", ["街镇名称", "楼宇数量"], summary, titles=[f"{dname}楼宇数量汇总"]))
                features.append("several_sheets")
                if rng.random() < 0.6:
                    sheets.append(Sheet("填表说明", notes=NOTES, hidden=True))
                    features.append("hidden_notes_sheet")
            path = self.inbox / f"{dname}楼宇台账{self.suffix(fmt)}"
            self.emit(path, "building", fmt, sheets, [np.full(n, "")], features)

    # --- enterprise registries -----------------------------------------------------------------

    def write_enterprises(self) -> None:
        w, e = self.w, self.w.e
        kind = S.ENTERPRISE_REGISTRY
        fmts = self.formats_for("enterprise", len(self.district_names))
        rng_bad = stream(w.seed, "bad:registry")
        n_bad = max(1, int(round(2 * w.scale)))
        bad_district = rng_bad.choice(len(self.district_names), n_bad)
        for d_idx, dname in enumerate(self.district_names):
            sel = np.flatnonzero(self.ent_district == d_idx)
            if not len(sel):
                continue
            sel = sel[np.lexsort((e["name"][sel], e["street"][sel], e["kind"][sel] == SHOP))]
            rng = stream(w.seed, f"file:enterprise:{d_idx}")
            fmt = self.fit_format(fmts[d_idx], len(sel))
            target = "csv" if fmt.startswith("csv") else fmt
            gbk = fmt == "csv-gbk"
            fields = ["enterprise_name", "uscc", "kind", "industry", "staff_total", "address", "building", "street"]
            if rng.random() < 0.6:
                fields.append("district")
            headers = [self.header(kind, f, rng, target) for f in fields]
            k_bad = int((bad_district == d_idx).sum())
            table = self._enterprise_table(sel, fields, rng, target, gbk, d_idx, k_bad)
            split = rng.random() < 0.6
            shop_rows = table["_shop"].to_numpy().astype(bool)
            parts = [("企业名录", ~shop_rows), ("沿街商铺", shop_rows)] if split else [("企业名录", np.ones(len(table), bool))]
            sheets, bads = [], []
            base_features = [f"format:{fmt}"]
            for sheet_name, mask in parts:
                part = table[mask].drop(columns=["_shop", "_bad"]).reset_index(drop=True)
                bads.append(table["_bad"].to_numpy()[mask])
                if target == "csv":
                    part = csv_frame(part)
                sheet = Sheet(sheet_name, headers, part)
                m = len(part)
                self.dress(sheet, rng, fmt, [f"{dname}{'沿街商铺' if sheet_name == '沿街商铺' else '企业'}名录",
                                            "数据截至：2020年1月31日"], [], fields,
                           lambda m=m: ["合计", f"{m}户"] + [None] * (len(fields) - 2), base_features)
                sheets.append(sheet)
            if target == "csv":
                if split:  # shops travel in a file of their own
                    for (sheet_name, _), sheet, bad in zip(parts, sheets, bads):
                        if not len(sheet.data):
                            continue
                        name = f"{dname}{'沿街商铺名录' if sheet_name == '沿街商铺' else '企业名录'}.csv"
                        self.emit(self.inbox / name, "enterprise", fmt, [sheet], [bad], base_features)
                else:
                    self.emit(self.inbox / f"{dname}企业名录.csv", "enterprise", fmt, sheets, bads, base_features)
                continue
            if rng.random() < 0.5:
                sheets.append(Sheet("填表说明", notes=NOTES, hidden=True))
                base_features.append("hidden_notes_sheet")
            if len(sheets) > 1:
                base_features.append("several_sheets")
            sheets = [s for s in sheets if s.notes or len(s.data)]
            self.emit(self.inbox / f"{dname}企业名录{self.suffix(fmt)}", "enterprise", fmt, sheets, bads, base_features)

    def _enterprise_table(self, sel, fields, rng, target, gbk, d_idx, k_bad) -> pd.DataFrame:
        w, e, b = self.w, self.w.e, self.w.b
        n = len(sel)
        kinds = e["kind"][sel]
        kind_cells = np.array(["企业", "个体工商户", "沿街商铺"], dtype=object)[kinds]
        roll = rng.random(n)
        kind_cells = np.where((kinds == FIRM) & (roll < 0.1), "公司", kind_cells)
        kind_cells = np.where((kinds == INDIVIDUAL) & (roll < 0.3), "个体", kind_cells)
        alias = np.array(["商铺", "沿街商户", "店铺"], dtype=object)[rng.integers(0, 3, n)]
        kind_cells = np.where((kinds == SHOP) & (roll < 0.3), alias, kind_cells).astype(object)
        bld = e["building"][sel]
        bld_cells = np.where(bld >= 0, b["name"][np.maximum(bld, 0)], None).astype(object)
        cols = {
            "enterprise_name": self.names_cells(e["name"][sel], rng, gbk),
            "uscc": self.uscc_cells(e["uscc"][sel], rng),
            "kind": kind_cells,
            "industry": e["industry"][sel].astype(object),
            "staff_total": messy.spell_ints(e["staff_reg"][sel], target, rng),
            "address": messy.pad(e["address"][sel].astype(object), rng, 0.02, gbk),
            "building": self.names_cells(bld_cells, rng, gbk),
            "street": self.street_cells(e["street"][sel], rng, target, gbk),
            "district": self.district_cells(np.full(n, d_idx), rng, gbk),
        }
        table = frame({f: cols[f] for f in fields})
        table["_shop"] = kinds == SHOP
        table["_bad"] = ""
        if k_bad:
            # rows whose USCC was typed with a wrong check character and whose name was left out: rejected
            # (the name is required; a wrong USCC alone would only be left empty with a warning), not in the registry
            st = np.flatnonzero(self.street_district == d_idx)
            street = rng.choice(st, k_bad)
            fake_names, _ = names.firm_names(rng, k_bad, 3)
            fake_uscc = codes.usccs(rng, np.ones(k_bad, dtype=int), np.full(k_bad, int(w.districts["code"].iat[d_idx])))
            rows = []
            for i in range(k_bad):
                row = {
                    "enterprise_name": None, "uscc": codes.uscc_with_wrong_check(str(fake_uscc[i])),
                    "kind": "企业", "industry": "批发和零售业",
                    "staff_total": 12 if target != "csv" else "12",
                    "address": f"{names.ROADS[int(rng.integers(0, len(names.ROADS)))]}{int(rng.integers(1, 999))}号",
                    "building": None, "street": str(self.street_name[street[i]]), "district": self.district_names[d_idx],
                }
                rows.append({**{f: row[f] for f in fields}, "_shop": False, "_bad": "required"})
            extra = pd.DataFrame(rows, dtype=object)
            pos = np.sort(rng.choice(len(table) + 1, k_bad))
            table = pd.concat([table.iloc[: pos[0]]] + [
                pd.concat([extra.iloc[[i]], table.iloc[pos[i]: pos[i + 1] if i + 1 < k_bad else len(table)]])
                for i in range(k_bad)
            ], ignore_index=True)
        return table

    # --- reopening reports ---------------------------------------------------------------------

    REPORT_GROUPS = [("复工情况", ["planned_reopen_date", "reopened", "actual_reopen_date"]),
                     ("员工情况", ["staff_total", "staff_returned", "staff_quarantined"]),
                     ("联系人信息", ["contact_name", "contact_phone"])]

    def report_cells(self, rows: np.ndarray, fields: list[str], rng: np.random.Generator, target: str,
                     gbk: bool, as_copy: np.ndarray, bool_style: int, submitted_style: np.ndarray | None) -> pd.DataFrame:
        e, r, b = self.w.e, self.w.r, self.w.b
        ent = r["ent"][rows]
        n = len(rows)
        uscc = np.where(r["show_uscc"][rows], e["uscc"][ent], "")
        bad = r["bad"][rows]
        if (bad == 1).any():
            uscc = uscc.astype(object)
            for i in np.flatnonzero(bad == 1).tolist():
                uscc[i] = codes.uscc_with_wrong_check(str(uscc[i]))
            uscc = uscc.astype(str)
        bld = e["building"][ent]
        bld_cells = np.where(r["show_building"][rows] & (bld >= 0), b["name"][np.maximum(bld, 0)], None).astype(object)
        planned = messy.spell_dates(days_to_datetime64(r["planned"][rows]), self.date_styles(rng, target, n), target)
        actual = messy.spell_dates(days_to_datetime64(r["actual"][rows]), self.date_styles(rng, target, n), target)
        if submitted_style is None:
            submitted_style = self.datetime_styles(rng, target, n)
        submitted = messy.spell_dates(r["submitted"][rows], submitted_style, target, with_time=True)
        for i in np.flatnonzero(bad == 2).tolist():
            submitted[i] = FUTURE_SUBMITTED[int(rng.integers(0, len(FUTURE_SUBMITTED)))]
        contact = r["contact"][rows] & ~(as_copy & (rng.random(n) < 0.5))
        staff_q = np.where(as_copy & (rng.random(n) < 0.5), -1, r["staff_q"][rows])
        names_given = self.names_cells(e["name"][ent], rng, gbk)
        if (bad == 1).any():  # a wrong USCC and no name: nothing tells the enterprise, the row is rejected
            names_given = np.where(bad == 1, None, names_given).astype(object)
        cols = {
            "enterprise_name": names_given,
            "uscc": self.uscc_cells(uscc, rng),
            "building": self.names_cells(bld_cells, rng, gbk),
            "street": self.street_cells(e["street"][ent], rng, target, gbk),
            "district": self.district_cells(self.ent_district[ent], rng, gbk),
            "planned_reopen_date": planned,
            "reopened": messy.spell_bools(r["reopened"][rows], bool_style, target),
            "actual_reopen_date": actual,
            "staff_total": messy.spell_ints(r["staff_total"][rows], target, rng),
            "staff_returned": messy.spell_ints(r["staff_returned"][rows], target, rng),
            "staff_quarantined": messy.spell_ints(staff_q, target, rng),
            "contact_name": np.where(contact, e["contact"][ent], None).astype(object),
            "contact_phone": messy.spell_mobiles(np.where(contact, e["mobile"][ent], 0), rng),
            "submitted_at": submitted,
        }
        return frame({f: cols[f] for f in fields})

    def write_reports(self) -> None:
        w, r = self.w, self.w.r
        kind = S.REOPENING_REPORT
        in_sheet = ~r["qr"] | r["copy"]
        rows_all = np.flatnonzero(in_sheet)
        d_of = self.ent_district[r["ent"][rows_all]]
        fd = r["file_day"][rows_all]
        key = d_of * 100 + fd
        order = np.lexsort((r["submitted"][rows_all], key))
        rows_all, key = rows_all[order], key[order]
        uniq, starts = np.unique(key, return_index=True)
        bounds = list(starts) + [len(key)]
        rng_f = stream(w.seed, "formats:report")
        forced = list(rng_f.permutation(len(FORMATS)))
        weights = np.array([0.45, 0.1, 0.2, 0.1, 0.15])
        for j, k in enumerate(uniq.tolist()):
            rows = rows_all[bounds[j]:bounds[j + 1]]
            d_idx, fday = divmod(k, 100)
            dname = self.district_names[d_idx]
            rng = stream(w.seed, f"file:report:{d_idx}:{fday}")
            fmt = FORMATS[forced[j]] if j < len(FORMATS) else FORMATS[int(rng.choice(len(FORMATS), p=weights))]
            fmt = self.fit_format(fmt, len(rows))
            target = "csv" if fmt.startswith("csv") else fmt
            gbk = fmt == "csv-gbk"
            features = [f"format:{fmt}"]
            fields = ["enterprise_name", "uscc"]
            if rng.random() < 0.7:
                fields.append("building")
            fields.append("street")
            if rng.random() < 0.6:
                fields.append("district")
            fields += ["planned_reopen_date", "reopened", "actual_reopen_date", "staff_total", "staff_returned"]
            if rng.random() < 0.7:
                fields.append("staff_quarantined")
            fields += ["contact_name", "contact_phone", "submitted_at"]
            bool_style = int(rng.integers(0, len(messy.BOOL_STYLES)))
            features.append(f"yes_no:{messy.BOOL_STYLES[bool_style][0]}/{messy.BOOL_STYLES[bool_style][1]}")
            data = self.report_cells(rows, fields, rng, target, gbk, r["copy"][rows], bool_style, None)
            headers = [self.header(kind, f, rng, target) for f in fields]
            if rng.random() < 0.6:
                data.insert(0, "_seq", seq_cells(len(rows), target))
                headers, fields = ["序号"] + headers, ["_seq"] + fields
            if rng.random() < 0.3:
                notes = np.array([None, "部分员工居家办公", "已备案", "错峰上班", "待街道核实"], dtype=object)
                data["_note"] = pd.Series(notes[rng.choice(5, len(rows), p=[0.7, 0.1, 0.1, 0.05, 0.05])], dtype=object)
                headers, fields = headers + ["备注"], fields + ["_note"]
            if target == "csv":
                data = csv_frame(data)
            d = day_to_date(fday)
            sheet = Sheet("复工申报", headers, data)

            def total(fields=fields, rows=rows):
                out = [None] * len(fields)
                out[0] = "合计"
                for f, src in (("staff_total", "staff_total"), ("staff_returned", "staff_returned")):
                    if f in fields:
                        vals = r[src][rows]
                        out[fields.index(f)] = int(vals[vals >= 0].sum())
                return out

            self.dress(sheet, rng, fmt, [f"{dname}企业复工复产申报汇总表（{d.month}月{d.day}日）",
                                         f"报送单位：{dname}经委  统计截至：{d.month}月{d.day}日 20:00"],
                       self.REPORT_GROUPS, fields, total, features)
            sheets = [sheet]
            if target != "csv" and rng.random() < 0.4:
                sheets.append(Sheet("填表说明", notes=NOTES, hidden=True))
                features += ["several_sheets", "hidden_notes_sheet"]
            bad_codes = np.array(["", "enterprise_missing", "future_date"], dtype=object)[r["bad"][rows]]
            name = f"{dname}企业复工申报_{d.month}月{d.day}日{self.suffix(fmt)}"
            self.emit(self.inbox / name, "reopening_report", fmt, sheets, [bad_codes], features)
            if j % 40 == 0:
                self.progress(f"复工申报 {j + 1}/{len(uniq)}")

    def write_report_qr(self) -> None:
        """QR-form exports, one per campaign week: 提交编号 and 提交时间 added by the form system."""
        w, r = self.w, self.w.r
        kind = S.REOPENING_REPORT
        rows_all = np.flatnonzero(r["qr"])
        rows_all = rows_all[np.argsort(r["submitted"][rows_all], kind="stable")]
        sub_id = {int(row): f"QR{str(r['submitted'][row].astype('datetime64[D]')).replace('-', '')}-{i + 1:06d}"
                  for i, row in enumerate(rows_all.tolist())}
        weeks = [(0, 6), (7, 13), (14, CAMPAIGN_DAYS - 1)]
        for wk, (a, z) in enumerate(weeks):
            rows = rows_all[(r["day"][rows_all] >= a) & (r["day"][rows_all] <= z)]
            if not len(rows):
                continue
            rng = stream(w.seed, f"file:report_qr:{wk}")
            fmt = "csv-utf8" if wk % 2 == 0 else "csv-bom"
            fields = ["enterprise_name", "uscc", "building", "street", "district", "reopened", "actual_reopen_date",
                      "planned_reopen_date", "staff_total", "staff_returned", "staff_quarantined", "contact_name",
                      "contact_phone"]
            data = self.report_cells(rows, fields + ["submitted_at"], rng, "csv", False, np.zeros(len(rows), bool), 0,
                                     np.zeros(len(rows), dtype=np.int64))
            sub = data.pop("submitted_at")
            data.insert(0, "submitted_at", sub)
            data.insert(0, "submission_id", pd.Series([sub_id[int(x)] for x in rows.tolist()], dtype=object))
            headers = ["提交编号", "提交时间"] + [self.header(kind, f, rng, "csv") for f in fields]
            data = csv_frame(data)
            a_d, z_d = day_to_date(a), day_to_date(z)
            name = f"扫码填报导出_企业复工_{a_d:%m%d}-{z_d:%m%d}.csv"
            self.emit(self.inbox / name, "reopening_report", fmt, [Sheet("export", headers, data)],
                      [np.full(len(rows), "")], [f"format:{fmt}", "qr_form_export", "submission_id"])

    # --- returning staff -----------------------------------------------------------------------

    STAFF_GROUPS = [("返沪信息", ["origin", "return_date"]), ("隔离信息", ["quarantine_status", "quarantine_end"])]

    def staff_cells(self, people: np.ndarray, second: np.ndarray, fields: list[str], rng: np.random.Generator,
                    target: str, gbk: bool, submitted: bool = False) -> pd.DataFrame:
        """Cells of returning-staff rows; ``second`` marks a person's second appearance."""
        p, e, b = self.w.p, self.w.e, self.w.b
        n = len(people)
        ent = p["ent"][people]
        id18 = p["id18"][people].astype(object)
        old = np.where(second, p["dup_old15"][people], p["old15"][people])
        ids = id18.copy()
        if old.any():
            ids[old] = codes.old_ids(p["first17"][people][old]).astype(object)
            if target != "csv":  # a 15-digit ID typed into a number cell survives Excel
                as_num = old & (rng.random(n) < 0.3)
                ids[as_num] = [int(x) for x in ids[as_num]]
        roll = rng.random(n)
        for i in np.flatnonzero(roll < 0.03).tolist():
            v = ids[i]
            if not isinstance(v, str):
                continue
            if v.endswith("X") and roll[i] < 0.015:
                ids[i] = v[:-1] + "x"
            elif len(v) == 18 and roll[i] < 0.022:
                ids[i] = f"{v[:6]} {v[6:14]} {v[14:]}"
            else:
                ids[i] = v.translate(messy.FULL_WIDTH) if roll[i] < 0.026 else v
        ids = messy.pad(ids, rng, 0.02, gbk)
        show_uscc = (e["uscc"][ent] != "") & (rng.random(n) < np.where(second, 0.4, 0.7))
        bld = e["building"][ent]
        show_bld = (bld >= 0) & (rng.random(n) < np.where(second, 0.3, 0.6))
        origin_label = np.array([o[0] for o in names.ORIGINS])[p["origin"][people]]
        long = np.array([ORIGIN_LONG[o] for o in origin_label.tolist()], dtype=object)
        origin = np.where(rng.random(n) < 0.2, long, origin_label.astype(object)).astype(object)
        status = p["status"][people]
        st_cells = np.array(QUARANTINE, dtype=object)[status]
        alias = rng.random(n) < 0.15
        for i in np.flatnonzero(alias).tolist():
            opts = QUARANTINE_ALIASES[int(status[i])]
            st_cells[i] = opts[int(rng.integers(0, len(opts)))]
        end_days = np.where(p["end_written"][people], p["end"][people], NONE)
        temp = p["temp"][people]
        if target == "csv":
            temp_cells = np.array([None if np.isnan(t) else (f"{t:.1f}℃" if k < 0.2 else f"{t:.1f}")
                                   for t, k in zip(temp.tolist(), rng.random(n).tolist())], dtype=object)
        else:
            temp_cells = np.array([None if np.isnan(t) else (f"{t:.1f}℃" if k < 0.1 else float(t))
                                   for t, k in zip(temp.tolist(), rng.random(n).tolist())], dtype=object)
        cols = {
            "name": messy.pad(np.where(rng.random(n) < 0.02, np.array([" ".join(x) for x in p["name"][people]]),
                                       p["name"][people]).astype(object), rng, 0.02, gbk),
            "id_number": ids,
            "phone": messy.spell_mobiles(p["mobile"][people], rng),
            "enterprise_name": self.names_cells(e["name"][ent], rng, gbk),
            "uscc": self.uscc_cells(np.where(show_uscc, e["uscc"][ent], ""), rng),
            "building": self.names_cells(np.where(show_bld, b["name"][np.maximum(bld, 0)], None).astype(object), rng, gbk),
            "street": self.street_cells(e["street"][ent], rng, target, gbk),
            "district": self.district_cells(self.ent_district[ent], rng, gbk),
            "origin": messy.pad(origin, rng, 0.02, gbk),
            "return_date": messy.spell_dates(days_to_datetime64(p["ret"][people]), self.date_styles(rng, target, n), target),
            "quarantine_status": st_cells,
            "quarantine_end": messy.spell_dates(days_to_datetime64(end_days), self.date_styles(rng, target, n), target),
            "temperature": temp_cells,
            "health": np.where(rng.random(n) < 0.5, p["health"][people], None).astype(object),
        }
        if submitted:
            ret = np.clip(p["ret"][people] + rng.integers(-2, 3, n), -21, CAMPAIGN_DAYS - 1)
            stamp = (np.datetime64(datetime(2020, 2, 10), "s") + (ret * 86400 + p["qr_seconds"][people]).astype("timedelta64[s]"))
            cols["submitted_at"] = messy.spell_dates(stamp, np.zeros(n, dtype=np.int64), target, with_time=True)
        return frame({f: cols[f] for f in fields})

    def staff_bad_rows(self) -> dict[int, list[tuple[int, str]]]:
        """Deliberately bad rows per district: (person, reason).  Half are people who also appear
        valid elsewhere, half are people who appear nowhere else (and are not in the truth)."""
        w, p = self.w, self.w.p
        rng = stream(w.seed, "bad:staff")
        k = max(2, int(round(3 * w.scale)))
        fmts = self.staff_formats
        out: dict[int, list[tuple[int, str]]] = {d: [] for d in range(len(self.district_names))}
        extra = list(range(p["n"], p["n"] + p["n_extra"]))
        rng.shuffle(extra)
        check_digit = np.array([x[-1].isdigit() for x in p["id18"].tolist()])
        lost17 = p["first17"].copy()
        lost17[:, 15:17] = 0
        lost_ok = codes.ric_check(lost17) != "0"
        plans = [
            ("id_stored_as_number", ("xlsx",), check_digit),
            ("id_stored_as_number_sci", ("csv-utf8", "csv-bom", "csv-gbk"), check_digit),
            ("id_digits_lost", ("csv-utf8", "csv-bom", "csv-gbk"), lost_ok),
            ("id_checksum", FORMATS, np.ones(len(check_digit), bool)),
            ("street_unknown", FORMATS, np.ones(len(check_digit), bool)),
            ("return_date_warning", FORMATS, np.ones(len(check_digit), bool)),
        ]
        person_district = self.ent_district[p["ent"]]
        for reason, allowed, eligible in plans:
            districts = [d for d in range(len(self.district_names)) if fmts.get(d) in allowed
                         and ((person_district[: p["n"]] == d) & eligible[: p["n"]]).any()]
            if not districts:
                continue
            for i in range(k):
                d = districts[int(rng.integers(0, len(districts)))]
                if i % 2 == 0:
                    pool = np.flatnonzero((person_district[: p["n"]] == d) & eligible[: p["n"]])
                    if not len(pool):
                        continue
                    person = int(pool[int(rng.integers(0, len(pool)))])
                else:
                    cand = [x for x in extra if eligible[x]]
                    if not cand:
                        continue
                    person = cand[0]
                    extra.remove(person)
                    ents = np.flatnonzero(self.ent_district == d)
                    p["ent"][person] = int(ents[int(rng.integers(0, len(ents)))])
                out[d].append((person, reason))
        return out

    def write_staff(self) -> None:
        w, p, e = self.w, self.w.p, self.w.e
        kind = S.RETURNING_STAFF
        n = p["n"]
        population = np.arange(n)
        primary = population[~p["qr"][:n]]
        second = population[p["qr"][:n] & p["dup"][:n]]
        people_all = np.concatenate([primary, second])
        is_second = np.concatenate([np.zeros(len(primary), bool), np.ones(len(second), bool)])
        d_of = self.ent_district[p["ent"][people_all]]
        fmts = self.formats_for("staff", len(self.district_names))
        self.staff_formats = {}
        for d_idx in range(len(self.district_names)):
            self.staff_formats[d_idx] = self.fit_format(fmts[d_idx], int((d_of == d_idx).sum()) + 50)
        bad_rows = self.staff_bad_rows()
        for d_idx, dname in enumerate(self.district_names):
            sel = np.flatnonzero(d_of == d_idx)
            bads = bad_rows[d_idx]
            if not len(sel) and not bads:
                continue
            people = people_all[sel]
            second_flags = is_second[sel]
            street = e["street"][p["ent"][people]]
            order = np.lexsort((p["ret"][people], street))
            people, second_flags = people[order], second_flags[order]
            rng = stream(w.seed, f"file:staff:{d_idx}")
            fmt = self.staff_formats[d_idx]
            target = "csv" if fmt.startswith("csv") else fmt
            gbk = fmt == "csv-gbk"
            features = [f"format:{fmt}"]
            fields = ["name", "id_number", "phone", "enterprise_name"]
            if rng.random() < 0.6:
                fields.append("uscc")
            if rng.random() < 0.5:
                fields.append("building")
            fields.append("street")
            if rng.random() < 0.5:
                fields.append("district")
            fields += ["origin", "return_date", "quarantine_status", "quarantine_end"]
            if rng.random() < 0.6:
                fields.append("temperature")
            if rng.random() < 0.4:
                fields.append("health")
            data = self.staff_cells(people, second_flags, fields, rng, target, gbk)
            reasons = np.full(len(data), "", dtype=object)
            row_street = e["street"][p["ent"][people]]
            if bads:
                bad_people = np.array([x for x, _ in bads])
                bad_data = self.staff_cells(bad_people, np.zeros(len(bads), bool), fields, rng, target, gbk)
                bad_reason = []
                for i, (person, reason) in enumerate(bads):
                    row = bad_data.iloc[i].to_dict()
                    id18 = str(p["id18"][person])
                    if reason == "id_stored_as_number":
                        row["id_number"] = float(id18)
                        features.append("id_as_float_number")
                    elif reason == "id_stored_as_number_sci":
                        row["id_number"] = f"{float(id18):.5E}"
                        reason = "id_stored_as_number"
                        features.append("id_scientific_notation")
                    elif reason == "id_digits_lost":
                        row["id_number"] = id18[:15] + "000"
                        features.append("id_digits_lost")
                    elif reason == "id_checksum":
                        row["id_number"] = id18[:17] + ("0" if id18[17] != "0" else "1")
                    elif reason == "street_unknown":
                        row["street"] = UNKNOWN_STREETS[int(rng.integers(0, len(UNKNOWN_STREETS)))]
                        if "uscc" in row:
                            row["uscc"] = None
                        if "district" in row:
                            row["district"] = None
                    elif reason == "return_date_warning":
                        row["return_date"] = IMPOSSIBLE_DATES[int(rng.integers(0, len(IMPOSSIBLE_DATES)))]
                    bad_data.iloc[i] = pd.Series(row)
                    bad_reason.append(reason)
                bad_street = e["street"][p["ent"][bad_people]]
                pos = np.sort(rng.choice(len(data) + 1, len(bads)))
                pieces, reason_pieces, street_pieces, prev = [], [], [], 0
                for i, ps in enumerate(pos.tolist()):
                    pieces += [data.iloc[prev:ps], bad_data.iloc[[i]]]
                    reason_pieces += [reasons[prev:ps], np.array([bad_reason[i]], dtype=object)]
                    street_pieces += [row_street[prev:ps], bad_street[i:i + 1]]
                    prev = ps
                pieces.append(data.iloc[prev:])
                reason_pieces.append(reasons[prev:])
                street_pieces.append(row_street[prev:])
                data = pd.concat(pieces, ignore_index=True)
                reasons = np.concatenate(reason_pieces)
                row_street = np.concatenate(street_pieces)
            headers = [self.header(kind, f, rng, target) for f in fields]
            if rng.random() < 0.5:
                data.insert(0, "_seq", seq_cells(len(data), target))
                headers, fields = ["序号"] + headers, ["_seq"] + fields
            if rng.random() < 0.3:
                data["_note"] = pd.Series(np.where(rng.random(len(data)) < 0.1, "已签承诺书", None), dtype=object)
                headers, fields = headers + ["备注"], fields + ["_note"]
            if target == "csv":
                data = csv_frame(data)
            sheets, bad_parts = [], []
            titles = [f"{dname}返沪返岗人员登记表", "填报说明：身份证号请填写 18 位，隔离截止日期为返沪后第 14 天"]
            if target != "csv" and rng.random() < 0.7:
                # one sheet per street, as the district collects them (small streets share one)
                keys = list(dict.fromkeys(row_street.tolist()))
                groups = [[k] for k in keys[:11]] + ([keys[11:]] if len(keys) > 11 else [])
                for group in groups:
                    mask = np.isin(row_street, group)
                    part = data[mask].reset_index(drop=True)
                    sheet_name = str(self.street_name[group[0]]) if len(group) == 1 else "其他街镇"
                    sheet = Sheet(sheet_name, headers, part)
                    m = len(part)
                    self.dress(sheet, rng, fmt, titles, self.STAFF_GROUPS, fields,
                               lambda m=m: ["合计", f"共{m}人"] + [None] * (len(fields) - 2), features)
                    sheets.append(sheet)
                    bad_parts.append(reasons[mask])
                features.append("sheet_per_street")
            else:
                sheet = Sheet("返岗人员", headers, data)
                m = len(data)
                self.dress(sheet, rng, fmt, titles, self.STAFF_GROUPS, fields,
                           lambda m=m: ["合计", f"共{m}人"] + [None] * (len(fields) - 2), features)
                sheets.append(sheet)
                bad_parts.append(reasons)
            if target != "csv" and rng.random() < 0.6:
                sheets.append(Sheet("说明", notes=NOTES, hidden=True))
                features.append("hidden_notes_sheet")
            if len(sheets) > 1:
                features.append("several_sheets")
            name = f"{dname}返岗人员登记表{self.suffix(fmt)}"
            self.emit(self.inbox / name, "returning_staff", fmt, sheets, bad_parts, features)

    def write_staff_qr(self) -> None:
        w, p = self.w, self.w.p
        kind = S.RETURNING_STAFF
        n = p["n"]
        population = np.arange(n)
        primary = population[p["qr"][:n]]
        second = population[~p["qr"][:n] & p["dup"][:n]]
        people = np.concatenate([primary, second])
        is_second = np.concatenate([np.zeros(len(primary), bool), np.ones(len(second), bool)])
        order = np.argsort((p["ret"][people] * 86400 + p["qr_seconds"][people]), kind="stable")
        people, is_second = people[order], is_second[order]
        rng = stream(w.seed, "file:staff_qr")
        fields = ["name", "id_number", "phone", "enterprise_name", "street", "district", "origin", "return_date",
                  "quarantine_status", "quarantine_end", "temperature"]
        data = self.staff_cells(people, is_second, fields + ["submitted_at"], rng, "csv", False, submitted=True)
        sub = data.pop("submitted_at")
        data.insert(0, "submitted_at", sub)
        data.insert(0, "_id", pd.Series([f"S{i + 1:07d}" for i in range(len(data))], dtype=object))
        headers = ["提交编号", "提交时间"] + [self.header(kind, f, rng, "csv") for f in fields]
        data = csv_frame(data)
        self.emit(self.inbox / "返岗人员扫码登记导出.csv", "returning_staff", "csv-utf8",
                  [Sheet("export", headers, data)], [np.full(len(data), "")],
                  ["format:csv-utf8", "qr_form_export", "same_person_in_two_files"])

    # --- a broken file -------------------------------------------------------------------------

    def write_corrupt(self) -> str:
        rng = stream(self.w.seed, "file:corrupt")
        name = f"{self.district_names[1]}企业复工申报_2月18日(1).xlsx"
        payload = b"PK\x03\x04" + rng.integers(0, 256, 4096 + int(rng.integers(0, 4096)), dtype=np.uint8).tobytes()
        (self.inbox / name).write_bytes(payload)
        self.records.append(FileRecord(path=self.inbox / name, kind="corrupt", fmt="xlsx", encoding=None,
                                       features=["corrupt_random_bytes"]))
        return name

    def write_all(self) -> list[FileRecord]:
        self.progress("区划表")
        self.write_divisions()
        self.progress("楼宇台账")
        self.write_buildings()
        self.progress("企业名录")
        self.write_enterprises()
        self.progress("企业复工申报")
        self.write_reports()
        self.write_report_qr()
        self.progress("返岗人员登记")
        self.write_staff()
        self.write_staff_qr()
        self.write_corrupt()
        return self.records
