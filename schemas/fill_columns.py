"""What a column of a department's report template can ask for, as data (docs/fill.md).

A template's rows are units of one kind (``ROW_UNITS``), told by its key column: 区 → a row per district,
街道 → per street, 楼宇 → per building, 企业名称 / 统一社会信用代码 → per enterprise, 店铺名称 → per shop.
The finest key present decides; a coarser one (the 街道 of an enterprise ledger) is then a plain column.

Every other column is one of:
- a figure of etl.figures (counts and rates of the enterprises, shops, staff and buildings under the row),
  for rows that are districts, streets or buildings;
- an attribute of the row's unit, spelt as the ingest header dictionary spells it (schemas/sources.py),
  plus the few spellings only report templates use (``EXTRA_SPELLINGS``);
- 序号, numbered 1, 2, 3, ….
"""
from __future__ import annotations

from dataclasses import dataclass

from schemas import sources as S

ROW_UNITS = ("district", "street", "building", "enterprise", "shop")
"""Coarsest first; the finest key column of a template decides its rows."""
UNIT_LABELS = {"district": "区", "street": "街道", "building": "楼宇", "enterprise": "企业", "shop": "商铺"}
SEQUENCE = "sequence"
SEQUENCE_SPELLINGS = ("序号", "编号", "序", "no", "no.")

KEY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "district": (*S.DISTRICT_FIELD.spellings, "区名称", "区名"),
    "street": (*S.STREET_FIELD.spellings, "街道名称", "街镇名称"),
    "building": S.BUILDING.spellings,
    "enterprise": (*S.ENTERPRISE_NAME.spellings, *S.USCC_FIELD.spellings),
    "shop": ("店铺名称", "商铺名称", "店铺", "商铺", "店名", "门店名称"),
}
"""A key column names its unit; for enterprises either the name or the credit code does."""

FIGURE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "enterprises": ("企业总数", "企业数", "登记企业数", "企业数量", "企业户数"),
    "reopened": ("已复工企业数", "复工企业数", "已复工企业户数"),
    "reopening_rate": ("企业复工率",),
    "shops": ("商铺数", "沿街商铺数", "商铺总数", "店铺数", "店铺总数"),
    "shops_open": ("已开业商铺数", "开业商铺数", "已开业店铺数"),
    "shop_reopening_rate": ("开业率", "店铺开业率"),
    "staff_total": ("员工人数", "职工人数", "在职人数", "职工总数"),
    "staff_returned": ("已返岗员工数", "返岗人数", "到岗人数", "已返岗员工"),
    "staff_return_rate": ("员工返岗率", "到岗率"),
    "reported": ("已填报企业数", "填报企业数"),
    "reporting_coverage": ("企业填报率",),
    "reported_on_time": ("及时填报企业数",),
    "timeliness": ("填报及时率",),
    "buildings": ("楼宇数", "楼宇总数", "登记楼宇数"),
    "buildings_missing": ("漏报楼宇数", "未填报楼宇数"),
    "returning_staff": ("返岗人员数", "返沪人员", "返沪人员数", "返岗人员总数"),
    "in_quarantine": ("隔离中人数", "隔离人数", "正在隔离人数", "在隔离人数"),
}
"""Spellings besides each figure's own label (etl.figures.LABELS, which always counts)."""

AMBIGUOUS: dict[str, str] = {
    "返岗人数": "也可指登记的返岗人员数；本表取企业复工申报中的已返岗员工数（要取登记人员，表头请写“返岗人员数”）",
    "隔离人数": "也可指企业申报的隔离员工数；本表取登记的返岗人员中当日仍在隔离的人数",
    "员工总数": "取复工申报所报员工数之和，未申报的企业不计；不是企业名录登记的员工人数",
}
"""Headers that could mean two figures: what was taken, said in --check and on the 说明 sheet."""

EXTRA_SPELLINGS: dict[str, tuple[str, ...]] = {
    "owner": ("楼宇业主", "业主名称"),
    "owner_contact": ("楼宇联系人", "物业联系人"),
    "owner_phone": ("楼宇联系电话", "物业联系电话"),
    "reopened": ("是否开业", "开业状态", "已开业"),
    "actual_reopen_date": ("开业日期", "实际开业日期"),
    "reported": ("是否填报", "是否已填报", "已填报", "填报状态"),
    "address": ("经营地址", "地址"),
    "contact_name": ("企业联系人",),
    "contact_phone": ("企业联系电话",),
    "submitted_at": ("最近填报时间",),
}
"""Attribute spellings that only report templates use (a shop's 开业 is its 复工)."""

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "district": ("code",),
    "street": ("code", "district"),
    "building": ("district", "street", "address", "community", "owner", "owner_contact", "owner_phone",
                 "building_type", "lng", "lat"),
    "enterprise": ("enterprise_name", "uscc", "district", "street", "building", "address", "industry", "kind",
                   "reported", "reopened", "planned_reopen_date", "actual_reopen_date", "staff_total",
                   "staff_returned", "staff_quarantined", "contact_name", "contact_phone", "submitted_at"),
}
ATTRIBUTES["shop"] = ATTRIBUTES["enterprise"]
"""The attributes a row of each unit carries (fields of the registries and of its latest report)."""

CODE_SPELLINGS = ("区划代码", "代码", "行政区划代码")
ATTRIBUTE_KINDS: dict[str, str] = {
    "reported": "bool", "reopened": "bool", "planned_reopen_date": "date", "actual_reopen_date": "date",
    "staff_total": "int", "staff_returned": "int", "staff_quarantined": "int", "submitted_at": "datetime",
    "lng": "float", "lat": "float",
}
"""How an attribute is written (anything else is text)."""
PERSONAL = frozenset({"owner_contact", "owner_phone", "contact_name", "contact_phone"})
"""Attributes masked unless the user may see personal data (etl.masking)."""


@dataclass(frozen=True)
class Meaning:
    """What one template column was understood to be."""

    name: str  # a unit (for a key column), SEQUENCE, a figure of etl.figures or an attribute
    role: str  # key | sequence | figure | attribute
    kind: str  # text | int | float | percent | date | datetime | bool
    note: str | None = None


def _attribute_spellings() -> dict[str, tuple[str, ...]]:
    sources = [S.ENTERPRISE_REGISTRY, S.BUILDING_REGISTRY, S.REOPENING_REPORT]
    found: dict[str, list[str]] = {"code": list(CODE_SPELLINGS), "district": list(KEY_SPELLINGS["district"]),
                                   "street": list(KEY_SPELLINGS["street"]), "building": list(KEY_SPELLINGS["building"])}
    for kind in sources:
        for f in kind.fields:
            if f.name not in found:
                found[f.name] = list(f.spellings)
    for name, spellings in EXTRA_SPELLINGS.items():
        found.setdefault(name, []).extend(spellings)
    return {name: tuple(dict.fromkeys(spellings)) for name, spellings in found.items()}


ATTRIBUTE_SPELLINGS = _attribute_spellings()
