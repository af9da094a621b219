"""Source definitions as data (docs/sources.md): each kind's canonical fields, header spellings and parsers.

A source kind is detected from the headers a sheet carries; the ``distinctive`` fields are the
ones that tell kinds apart (an enterprise registry and a reopening report share most columns).
Header matching ignores case, spaces, full-width forms and a trailing unit such as "(℃)", see
``etl.normalise.header_key``.
"""
from __future__ import annotations

from dataclasses import dataclass

# Parser names, implemented in etl.normalise.PARSERS.
TEXT, NAME, ID_NUMBER, USCC, PHONE, DATE, DATETIME, BOOL, INT, FLOAT = (
    "text", "name", "id_number", "uscc", "phone", "date", "datetime", "bool", "int", "float",
)
DISTRICT, STREET, QUARANTINE, LEVEL, CODE, KIND = (
    "district", "street", "quarantine", "level", "code", "kind",
)


@dataclass(frozen=True)
class Field:
    name: str
    header: str
    variants: tuple[str, ...] = ()
    parser: str = TEXT
    required: bool = False

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.header, *self.variants)


@dataclass(frozen=True)
class SourceKind:
    name: str
    label: str
    fields: tuple[Field, ...]
    distinctive: frozenset[str]
    load_rank: int
    min_fields: int = 2

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


ENTERPRISE_NAME = Field("enterprise_name", "企业名称", ("单位名称", "公司名称", "所在单位", "工作单位"), NAME)
USCC_FIELD = Field("uscc", "统一社会信用代码", ("信用代码", "社会信用代码", "统一信用代码"), USCC)
BUILDING = Field("building", "楼宇", ("楼宇名称", "所在楼宇", "办公楼宇", "楼宇名"), NAME)
STREET_FIELD = Field("street", "街道", ("所属街道", "街镇", "街道(镇)", "街道/镇", "所在街道"), STREET)
DISTRICT_FIELD = Field("district", "区", ("所属区", "区县", "所在区", "所属区县"), DISTRICT)
STAFF_TOTAL = Field("staff_total", "员工总数", ("员工人数", "职工人数", "在职人数"), INT)

RETURNING_STAFF = SourceKind(
    name="returning_staff",
    label="返岗人员登记",
    fields=(
        Field("name", "姓名", ("名字", "员工姓名", "人员姓名"), NAME),
        Field("id_number", "身份证号", ("身份证号码", "证件号码", "公民身份号码", "身份证"), ID_NUMBER, True),
        Field("phone", "手机号", ("手机号码", "联系电话", "电话", "联系方式"), PHONE),
        ENTERPRISE_NAME,
        USCC_FIELD,
        BUILDING,
        STREET_FIELD,
        DISTRICT_FIELD,
        Field("origin", "来源地", ("返沪前所在地", "出发地", "从何地返沪"), TEXT),
        Field("return_date", "返沪日期", ("返沪时间", "到沪日期", "抵沪日期", "返岗日期"), DATE),
        Field("quarantine_status", "隔离状态", ("隔离情况",), QUARANTINE),
        Field("quarantine_end", "隔离截止日期", ("解除隔离日期", "隔离结束日期"), DATE),
        Field("temperature", "体温", (), FLOAT),
        Field("health", "健康状况", (), TEXT),
        Field("note", "备注", (), TEXT),
        Field("submitted_at", "填报时间", ("提交时间",), DATETIME),
        Field("submission_id", "提交编号", ("submission_id",), TEXT),
    ),
    distinctive=frozenset({"id_number", "name", "origin", "return_date", "quarantine_status"}),
    load_rank=4,
)

REOPENING_REPORT = SourceKind(
    name="reopening_report",
    label="企业复工申报",
    fields=(
        ENTERPRISE_NAME,
        USCC_FIELD,
        BUILDING,
        STREET_FIELD,
        DISTRICT_FIELD,
        Field("planned_reopen_date", "计划复工日期", ("拟复工日期", "预计复工时间", "计划复工时间"), DATE),
        Field("reopened", "是否复工", ("复工状态", "已复工", "是否已复工"), BOOL),
        Field("actual_reopen_date", "实际复工日期", ("复工日期", "实际复工时间"), DATE),
        STAFF_TOTAL,
        Field("staff_returned", "已返岗人数", ("返岗人数", "到岗人数"), INT),
        Field("staff_quarantined", "隔离人数", (), INT),
        Field("contact_name", "联系人", ("负责人", "填报人"), NAME),
        Field("contact_phone", "联系电话", ("手机号", "手机号码", "电话"), PHONE),
        Field("submitted_at", "填报时间", ("提交时间",), DATETIME),
        Field("submission_id", "提交编号", ("submission_id",), TEXT),
    ),
    distinctive=frozenset(
        {"planned_reopen_date", "reopened", "actual_reopen_date", "staff_returned", "staff_quarantined"}
    ),
    load_rank=3,
)

DIVISION_REGISTRY = SourceKind(
    name="division",
    label="区划表",
    fields=(
        Field("code", "区划代码", ("代码", "行政区划代码", "统计用区划代码"), CODE, True),
        Field("name", "名称", ("区划名称", "行政区划名称"), TEXT, True),
        Field("level", "级别", ("层级", "区划级别"), LEVEL),
        Field("parent", "上级代码", ("上级区划代码", "父级代码"), CODE),
    ),
    distinctive=frozenset({"code", "level", "parent"}),
    load_rank=0,
)

BUILDING_REGISTRY = SourceKind(
    name="building",
    label="楼宇台账",
    fields=(
        Field("building", "楼宇名称", ("楼宇", "所在楼宇", "办公楼宇", "楼宇名"), NAME, True),
        Field("address", "地址", ("楼宇地址", "详细地址"), TEXT),
        STREET_FIELD,
        DISTRICT_FIELD,
        Field("community", "居委", ("社区", "网格", "居委会", "所属居委", "所属社区"), TEXT),
        Field("lng", "经度", ("lng", "lon", "longitude"), FLOAT),
        Field("lat", "纬度", ("lat", "latitude"), FLOAT),
        Field("owner", "业主单位", ("物业单位", "物业公司", "业主"), TEXT),
        Field("owner_contact", "联系人", ("负责人",), NAME),
        Field("owner_phone", "联系电话", ("电话", "手机号", "手机号码"), PHONE),
        Field("building_type", "楼宇类型", ("类型",), TEXT),
    ),
    distinctive=frozenset({"owner", "lng", "lat", "community", "building_type", "address"}),
    load_rank=1,
)

ENTERPRISE_REGISTRY = SourceKind(
    name="enterprise",
    label="企业名录",
    fields=(
        Field("enterprise_name", "企业名称", ("单位名称", "公司名称", "所在单位", "工作单位"), NAME, True),
        USCC_FIELD,
        Field("address", "经营地址", ("注册地址", "地址"), TEXT),
        BUILDING,
        STREET_FIELD,
        DISTRICT_FIELD,
        Field("industry", "行业", ("所属行业", "行业类别"), TEXT),
        STAFF_TOTAL,
        Field("kind", "类型", ("企业类型", "主体类型"), KIND),
    ),
    distinctive=frozenset({"industry", "kind", "address"}),
    load_rank=2,
)

SOURCE_KINDS: tuple[SourceKind, ...] = (
    DIVISION_REGISTRY,
    BUILDING_REGISTRY,
    ENTERPRISE_REGISTRY,
    REOPENING_REPORT,
    RETURNING_STAFF,
)
KINDS_BY_NAME = {k.name: k for k in SOURCE_KINDS}
FIELD_HEADERS = {f.name: f.header for kind in SOURCE_KINDS for f in kind.fields}
"""The Chinese header of each canonical field, as rejects and ledgers name the field a row failed on."""


COLLECTION_KIND_PREFIX = "collection:"
"""import_batch.kind of a collection's answer files: collection:<id>."""


def kind_label(kind: str | None) -> str:
    """A batch's kinds ("building+enterprise", as stored in import_batch.kind) in the words of the definitions;
    a collection's answers as 信息收集 #id."""
    def one(k: str) -> str:
        if k.startswith(COLLECTION_KIND_PREFIX):
            return f"信息收集 #{k[len(COLLECTION_KIND_PREFIX):]}"
        return KINDS_BY_NAME[k].label if k in KINDS_BY_NAME else k
    return "＋".join(one(k) for k in (kind or "").split("+") if k)


# Value vocabularies (docs/sources.md).
YES = ("是", "已", "y", "yes", "√", "✓", "✔", "1", "true", "t", "已复工", "复工", "已开工", "对")
NO = ("否", "未", "n", "no", "×", "✗", "✘", "x", "0", "false", "f", "未复工", "未开工", "不")
QUARANTINE_STATES = ("居家隔离", "集中隔离", "已解除", "无需隔离")
QUARANTINE_ALIASES = {
    "居家": "居家隔离",
    "居家观察": "居家隔离",
    "居家医学观察": "居家隔离",
    "集中": "集中隔离",
    "集中观察": "集中隔离",
    "集中医学观察": "集中隔离",
    "解除": "已解除",
    "已解除隔离": "已解除",
    "解除隔离": "已解除",
    "无": "无需隔离",
    "无需": "无需隔离",
    "不需要": "无需隔离",
    "否": "无需隔离",
}
IN_QUARANTINE = ("居家隔离", "集中隔离")
ENTERPRISE_KINDS = ("企业", "沿街商铺", "个体工商户")
SHOP_KIND = "沿街商铺"
KIND_ALIASES = {"商铺": "沿街商铺", "沿街商户": "沿街商铺", "店铺": "沿街商铺", "个体": "个体工商户", "公司": "企业"}
# Words of the legal forms a market-regulator register writes in 企业类型 (all of them 企业).
LEGAL_FORM_WORDS = ("公司", "企业", "合伙", "合作社", "集团", "独资", "股份", "分支机构")
LEVEL_ALIASES = {
    "市": "city",
    "区": "district",
    "县": "district",
    "区县": "district",
    "街道": "street",
    "镇": "street",
    "乡": "street",
    "街镇": "street",
    "居委": "community",
    "村委": "community",
    "居委会": "community",
    "村委会": "community",
    "社区": "community",
    "村": "community",
    "网格": "community",
}
TOTAL_ROW_MARKERS = ("合计", "总计", "小计", "汇总", "total")
