"""The analyst workbook (`onenet export` and the dashboard download): what the figures are and what they stand on.

Everything is cut to the user's scope here, on the server.  Figures come from etl.figures (never
recomputed); detail rows stream from the database into a constant-memory workbook.
"""
from __future__ import annotations

import io
from collections.abc import Collection, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from etl import config
from etl.excel import Column, Formats, open_workbook, write_sheet
from etl.divisions import DivisionTree
from etl.figures import LABELS, RATES, Day, enterprise_state, latest_reports, registered_enterprises, summary
from etl.masking import as_shown, mask_name, mask_phone
from etl.origins import origin_place
from etl.scope import Scope, load_scope
from schemas.labels import FOLLOW_UP_LABELS, LEVEL_LABELS, SEVERITY_LABELS, UNPLACED
from schemas.models import Building, Enterprise, FollowUp, ImportBatch, Reject, ReopeningReport, ReturningStaff
from schemas.sources import SHOP_KIND

SECTIONS = ("summary", "reopening", "missing", "staff", "rejects")

SUMMARY_KEYS = ["code", "name", "enterprises", "reopened", "reopening_rate", "shops", "shops_open", "shop_reopening_rate",
                "staff_total", "staff_returned", "staff_return_rate", "reported", "reporting_coverage",
                "reported_on_time", "timeliness", "buildings", "buildings_missing", "returning_staff", "in_quarantine"]
SUMMARY_COLUMNS = [Column("区划代码"), Column("名称")] + [
    Column(LABELS[k], "percent" if k in RATES else "int") for k in SUMMARY_KEYS[2:]]


def _streets_in(scope: Scope, column: Any) -> Any:
    return True if scope.level == "city" else column.in_(sorted(scope.streets) or [""])


def _place_names(session: Session) -> tuple[dict[str, str], dict[str, str | None]]:
    """Name of each division code, and name of the district each code lies in (a district: itself)."""
    tree = DivisionTree.load(session)
    return tree.name, {c: tree.name.get(tree.ancestor(c, "district") or "") for c in tree.level}


def summary_rows(session: Session, scope: Scope, day: date, level: str) -> list[list[Any]]:
    rows = summary(session, day, level)
    if scope.level != "city":
        allowed = scope.streets if level == "street" else scope.districts | ({scope.code} if level == scope.level else set())
        rows = [r for r in rows if r["code"] in allowed]
    return [[r[k] for k in SUMMARY_KEYS] for r in rows]


def reopening_rows(session: Session, scope: Scope, day: date) -> Iterator[list[Any]]:
    d = Day(day)
    state = enterprise_state(session, d)
    latest = latest_reports(d)
    names, district_names = _place_names(session)
    stmt = (
        select(Enterprise.name, Enterprise.uscc, Enterprise.kind, Enterprise.street_code, Building.name,
               state.c.reported, state.c.reopened, latest.c.planned_reopen_date, latest.c.actual_reopen_date,
               latest.c.staff_total, latest.c.staff_returned, latest.c.effective_at, Enterprise.from_registry)
        .select_from(state)
        .join(Enterprise, Enterprise.id == state.c.id)
        .outerjoin(Building, Building.id == Enterprise.building_id)
        .outerjoin(latest, latest.c.enterprise_id == Enterprise.id)
        .where(_streets_in(scope, Enterprise.street_code))
        .order_by(Enterprise.street_code, Building.name, Enterprise.name)
    )
    for (name, uscc, kind, street, building, reported, reopened, planned, actual, total, returned, at,
         registry) in session.execute(stmt.execution_options(yield_per=config.STREAM_ROWS)):
        yield [name, uscc, kind, district_names.get(street), names.get(street), building, bool(reported), bool(reopened), planned,
               actual, total, returned, at, "名录" if registry else "首次见于申报"]


REOPENING_COLUMNS = [
    Column("企业名称"), Column("统一社会信用代码"), Column("类型"), Column("区"), Column("街道"), Column("楼宇"),
    Column("已填报", "bool"), Column("已复工", "bool"), Column("计划复工日期", "date"), Column("实际复工日期", "date"),
    Column("员工总数", "int"), Column("已返岗人数", "int"), Column("最近填报时间", "datetime"), Column("来源"),
]


def missing_buildings(session: Session, scope: Scope, day: date) -> list[dict[str, Any]]:
    """Buildings with registered non-shop enterprises that have not reported by the end of the day,
    most silent first, with the owner's contact, the silent enterprises and the latest follow-up;
    then, per street, the silent enterprises of no registered building (UNPLACED, ``id`` None)."""
    state = enterprise_state(session, Day(day))
    silent = (
        select(Enterprise.building_id, Enterprise.name, Enterprise.uscc)
        .select_from(state).join(Enterprise, Enterprise.id == state.c.id)
        .where(state.c.is_shop.is_(False), state.c.reported.is_(False), Enterprise.building_id.is_not(None),
               _streets_in(scope, Enterprise.street_code))
    )
    by_building: dict[int, list[tuple[str, str | None]]] = {}
    for building_id, name, uscc in session.execute(silent):
        by_building.setdefault(building_id, []).append((name, uscc))
    unplaced: dict[str, list[tuple[str, str | None]]] = {}
    for e in unplaced_silent(session, None if scope.level == "city" else scope.streets, day):
        unplaced.setdefault(e["street_code"], []).append((e["name"], e["uscc"]))
    if not by_building and not unplaced:
        return []
    names, district_names = _place_names(session)
    follow = latest_follow_ups(session, list(by_building), day)
    out = []
    for chunk_start in range(0, len(by_building), 900):
        ids = list(by_building)[chunk_start:chunk_start + 900]
        for b in session.scalars(select(Building).where(Building.id.in_(ids), _registered_by(Building, day))):
            f = follow.get(b.id)
            out.append({
                "id": b.id, "district": district_names.get(b.street_code), "street": names.get(b.street_code),
                "street_code": b.street_code, "name": b.name, "address": b.address, "owner": b.owner,
                "owner_contact": b.owner_contact, "owner_phone": b.owner_phone,
                "silent": sorted(by_building[b.id]),
                "follow_up": FOLLOW_UP_LABELS.get(f.status, f.status) if f else None,
                "follow_up_note": f.note if f else None, "follow_up_by": f.set_by if f else None,
            })
    out.sort(key=lambda r: (-len(r["silent"]), r["street_code"], r["name"]))
    for street in sorted(unplaced):
        out.append({"id": None, "district": district_names.get(street), "street": names.get(street), "street_code": street,
                    "name": UNPLACED, "address": None, "owner": None, "owner_contact": None, "owner_phone": None,
                    "silent": sorted(unplaced[street]), "follow_up": None, "follow_up_note": None, "follow_up_by": None})
    return out


def _registered_by(model: Any, day: date) -> Any:
    return or_(model.registered_at.is_(None), model.registered_at < Day(day).end)


def unplaced_silent(session: Session, streets: Collection[str] | None, day: date) -> list[dict[str, Any]]:
    """Silent enterprises proper (docs/figures.md) in ``streets`` (None: all) that no building registered
    by the day holds: counted among the silent, they are in no building's list. By street, then name."""
    d = Day(day)
    ent = registered_enterprises(d)
    reported = exists().where(ReopeningReport.enterprise_id == ent.c.id, ReopeningReport.effective_at < d.end)
    stmt = (select(ent.c.id, ent.c.street_code, ent.c.name, ent.c.uscc, ent.c.address)
            .outerjoin(Building, Building.id == ent.c.building_id)
            .where(ent.c.kind != SHOP_KIND, ~reported, or_(Building.id.is_(None), ~_registered_by(Building, day)))
            .order_by(ent.c.street_code, ent.c.name, ent.c.id))
    if streets is not None:
        stmt = stmt.where(ent.c.street_code.in_(sorted(streets) or [""]))
    return [{"enterprise_id": i, "street_code": s, "name": n, "uscc": u, "address": a}
            for i, s, n, u, a in session.execute(stmt)]


def latest_follow_ups(session: Session, building_ids: list[int], day: date) -> dict[int, FollowUp]:
    latest: dict[int, FollowUp] = {}
    for start in range(0, len(building_ids), 900):
        ids = building_ids[start:start + 900]
        for f in session.scalars(select(FollowUp).where(FollowUp.building_id.in_(ids), FollowUp.day <= day)
                                 .order_by(FollowUp.set_at, FollowUp.id)):
            latest[f.building_id] = f
    return latest


MISSING_COLUMNS = [
    Column("区"), Column("街道"), Column("楼宇"), Column("地址"), Column("业主/物业单位"), Column("联系人"),
    Column("联系电话"), Column("未填报企业数", "int"), Column("未填报企业"), Column("跟进状态"), Column("跟进备注"),
]


def staff_rows(session: Session, scope: Scope, day: date, personal: bool) -> Iterator[list[Any]]:
    names, district_names = _place_names(session)
    t = ReturningStaff
    where = [t.is_current.is_(True), or_(t.return_date.is_(None), t.return_date <= day)]
    if scope.level != "city":
        where.append(or_(t.street_code.in_(sorted(scope.streets) or [""]),
                         and_(t.street_code.is_(None), t.district_code.in_(sorted(scope.districts) or [""]))))
    stmt = (select(t.name, t.id_masked, t.phone, t.enterprise_name, t.district_code, t.street_code, t.origin,
                   t.origin_code, t.return_date, t.quarantine_status, t.quarantine_end)
            .where(*where).order_by(t.street_code, t.enterprise_name, t.id))
    for name, masked, phone, enterprise, district, street, origin, origin_code, returned, status, end in session.execute(
            stmt.execution_options(yield_per=config.STREAM_ROWS)):
        in_quarantine = end is not None and end >= day
        yield [name if personal else mask_name(name), masked, phone if personal else mask_phone(phone), enterprise,
               district_names.get(street or district), names.get(street), origin, origin_place(origin, origin_code),
               returned, status, end, in_quarantine]


STAFF_COLUMNS = [
    Column("姓名"), Column("身份证号（脱敏）"), Column("手机号"), Column("工作单位"), Column("区"), Column("街道"),
    Column("来源地"), Column("来源地（规范名称）"), Column("返沪日期", "date"), Column("隔离状态"), Column("隔离截止日期", "date"), Column("当日隔离中", "bool"),
]


def reject_rows(session: Session, batch_id: int | None = None) -> Iterator[list[Any]]:
    """Rejects and warnings (级别 退回 / 警告) of every batch, or of one, oldest first: the columns of REJECT_COLUMNS."""
    stmt = (select(ImportBatch.file_name, Reject.sheet, Reject.row_number, Reject.severity, Reject.field, Reject.code,
                   Reject.reason, Reject.batch_id)
            .join(ImportBatch, ImportBatch.id == Reject.batch_id).order_by(Reject.batch_id, Reject.id))
    if batch_id is not None:
        stmt = stmt.where(Reject.batch_id == batch_id)
    for file_name, sheet, row, severity, *rest in session.execute(stmt.execution_options(yield_per=config.STREAM_ROWS)):
        yield [file_name, sheet, row, SEVERITY_LABELS.get(severity, severity), *rest]


REJECT_COLUMNS = [Column("文件"), Column("工作表"), Column("行号", "int"), Column("级别"), Column("字段"), Column("错误代码"),
                  Column("原因"), Column("批次", "int")]


def carries_personal_data(sections: Sequence[str] | None, personal: bool, contacts: bool | None = None) -> bool:
    """Does the workbook of these sections hold personal data unmasked (returning staff, or owner contacts)?"""
    wanted = set(sections or SECTIONS)
    return ("staff" in wanted and personal) or ("missing" in wanted and (personal if contacts is None else contacts))


def write_workbook(session: Session, out: Path | IO[bytes], *, scope_code: str, day: date, user_name: str,
                   sections: Sequence[str] | None = None, personal: bool = False,
                   contacts: bool | None = None) -> Path | IO[bytes]:
    """The analyst workbook for a scope and day: cover, summaries, detail sheets (see SECTIONS).

    ``personal`` unmasks returning staff, ``contacts`` the building owners' contacts (None: as ``personal``);
    who may see which is dashboard.access's decision (docs/rules.md#personal-data-and-scope).
    """
    contacts = personal if contacts is None else contacts
    wanted = set(sections or SECTIONS)
    unknown = wanted - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown sections {sorted(unknown)}; choose among {', '.join(SECTIONS)}")
    scope = load_scope(session, scope_code)
    workbook = open_workbook(out)
    fmt = Formats(workbook)
    cover = workbook.add_worksheet("封面")
    notes: list[str] = []
    if "summary" in wanted:
        for level in ("city", "district", "street"):
            if level == "city" and scope.level != "city":
                continue
            if level == "district" and scope.level == "street":
                continue
            write_sheet(workbook, fmt, f"汇总-{LEVEL_LABELS[level]}", SUMMARY_COLUMNS, summary_rows(session, scope, day, level))
    if "reopening" in wanted:
        write_sheet(workbook, fmt, "复工明细", REOPENING_COLUMNS, reopening_rows(session, scope, day))
    if "missing" in wanted:
        rows = ([b["district"], b["street"], b["name"], b["address"], b["owner"],
                 *as_shown(b["owner_contact"], b["owner_phone"], contacts), len(b["silent"]), "、".join(n for n, _ in b["silent"]), b["follow_up"], b["follow_up_note"]]
                for b in missing_buildings(session, scope, day))
        write_sheet(workbook, fmt, "漏报楼宇", MISSING_COLUMNS, rows)
    if "staff" in wanted:
        sheets = write_sheet(workbook, fmt, "返岗人员", STAFF_COLUMNS, staff_rows(session, scope, day, personal))
        if len(sheets) > 1:
            notes.append(f"返岗人员超过 Excel 单表 {1_048_575:,} 行的上限，已拆分为 {len(sheets)} 个工作表：{'、'.join(sheets)}")
    if "rejects" in wanted:
        if scope.level == "city":
            write_sheet(workbook, fmt, "退回记录", REJECT_COLUMNS, reject_rows(session))
        else:
            notes.append("退回记录按文件记录、不分辖区，仅市级用户的导出包含；请联系市级管理员。")
    last_load = session.scalar(select(func.max(ImportBatch.finished_at)).where(ImportBatch.status == "loaded"))
    _write_cover(cover, fmt, scope, day, user_name, last_load, personal, contacts, notes)
    workbook.close()
    return out


def _privacy_note(personal: bool, contacts: bool) -> str:
    if personal and contacts:
        return "含完整个人信息（已授权）"
    ids = "身份证号只保留前 6 位和后 4 位"
    if contacts:
        return f"楼宇联系人姓名、电话完整（本街镇工作人员）；返岗人员姓名、手机号已脱敏；{ids}"
    if personal:
        return f"返岗人员信息完整（已授权）；楼宇联系人姓名、电话已脱敏；{ids}"
    return f"姓名、手机号（含楼宇联系人）已脱敏；{ids}"


def _write_cover(sheet: Any, fmt: Formats, scope: Scope, day: date, user_name: str, last_load: Any,
                 personal: bool, contacts: bool, notes: list[str]) -> None:
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 60)
    sheet.write_string(0, 0, "一网统管 · 复工复产数据导出", fmt.title)
    facts = [
        ("范围", f"{scope.name}（{scope.code}）"),
        ("统计日期", day.isoformat()),
        ("导出时间", config.local_now().strftime("%Y-%m-%d %H:%M")),
        ("导出人", user_name),
        ("数据截至（最近一次导入）", last_load.strftime("%Y-%m-%d %H:%M") if last_load else "尚无导入"),
        ("个人信息", _privacy_note(personal, contacts)),
        ("口径", "复工率 = 已复工企业 ÷ 登记企业（沿街商铺单列）；返岗率 = 已返岗 ÷ 员工总数（仅计两项都已填报的企业）；"
                 "填报率 = 已填报企业 ÷ 登记企业；及时率 = 及时填报企业（不晚于复工当日填报）÷ 已填报企业；"
                 "上级数字由下级分子分母相加，不平均比率。"),
    ]
    for i, (label, value) in enumerate(facts, start=2):
        sheet.write_string(i, 0, label, fmt.label)
        sheet.write_string(i, 1, value, fmt.text)
    for j, note in enumerate(notes, start=len(facts) + 3):
        sheet.write_string(j, 1, note, fmt.note)


def workbook_bytes(session: Session, *, scope_code: str, day: date, user_name: str,
                   sections: Sequence[str] | None = None, personal: bool = False, contacts: bool | None = None) -> bytes:
    buffer = io.BytesIO()
    write_workbook(session, buffer, scope_code=scope_code, day=day, user_name=user_name, sections=sections, personal=personal,
                   contacts=contacts)
    return buffer.getvalue()
