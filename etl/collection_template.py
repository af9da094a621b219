"""A collection's definition from a file (docs/collections.md): a department's Excel template, or a definition
file (YAML or JSON).

A template's header is found as `onenet fill` finds it (etl.fill_template): its enterprise columns (企业名称,
统一社会信用代码; 店铺名称 for shops) say who answers, its 序号 and 区/街道/楼宇 columns are filled from the
registries at the export, and every other column becomes a field, its type guessed from the label — by the ingest
header dictionary (schemas/sources.py) where the label is one of its spellings, else by the words of the label.
Every guess comes back as a note, for the official to correct before the collection opens.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import IO, Any

import yaml
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError

from etl import config
from etl.collections import CollectionError
from etl.fill_template import (
    TEMPLATE_SUFFIXES,
    TemplateColumn,
    TemplateError,
    TemplatePlan,
    open_template,
    plan_template,
)
from etl.text import clean_scalar, header_key
from schemas import sources as S
from schemas.collections import (
    FIELD_TYPE_LABELS,
    FREQUENCIES,
    RESPONDENTS,
    CollectionDef,
)
from schemas.fill_columns import UNIT_LABELS

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
TEMPLATE_MAX_BYTES = 20 << 20
DEFAULT_DAYS = 7
"""A collection without an end date runs for a week from its start (today, unless given)."""
LABEL_MAX = 60
REGISTRY_ATTRIBUTES = ("district", "street", "building", "enterprise_name", "uscc", "submitted_at")
"""Template columns the registries (and, for 填报时间, the answer's own time) fill at the export: never asked."""
REQUIRED_MARKS = "*＊※"

PARSER_TYPES = {S.TEXT: "text", S.NAME: "text", S.ID_NUMBER: "resident_id", S.USCC: "uscc", S.PHONE: "phone",
                S.DATE: "date", S.DATETIME: "datetime", S.BOOL: "yes_no", S.INT: "integer", S.FLOAT: "number",
                S.QUARANTINE: "choice"}
"""A dictionary spelling's parser as a field type (division, level, code and kind columns are text)."""
COUNT_ENDINGS = ("人数", "数量", "户数", "个数", "只数", "件数", "次数", "床位数", "台数", "份数")
NOT_COUNTS = ("系数", "指数", "分数", "倍数", "参数", "函数", "号数")
COUNT_UNITS = frozenset("只人个户家台套件次天箱盒瓶包辆间张名位座栋桶支双副份批袋卷块") | {"人次", "户次"}
MEASURE_UNITS = frozenset({"元", "万元", "千元", "亿元", "平方米", "平米", "㎡", "m2", "m²", "公斤", "千克", "kg", "吨",
                           "升", "l", "毫升", "ml", "米", "m", "公里", "km", "%", "‰", "℃", "小时", "克", "g"})
MEASURE_WORDS = ("金额", "面积", "费用", "租金", "收入", "营业额", "比例", "占比", "重量", "体积")
PERSON_NAME_WORDS = ("姓名", "联系人", "负责人", "填报人", "法定代表人", "法人代表", "经办人")
"""Labels of text fields holding a person's name: masked as names are (etl.masking) at the export."""
_ATTACHMENT = re.compile(r"^附[件表]\s*[0-9一二三四五六七八九十]*$")
_UNIT = re.compile(r"[(\[【]\s*([^)\]】]+?)\s*[)\]】]\s*$")


class DefinitionError(CollectionError):
    """A template or definition file that does not make a collection, with where and what to do."""


@dataclass(frozen=True)
class TemplateField:
    """A template column that is a field: its column, the label the field carries, and the guess."""

    column: TemplateColumn
    label: str
    type: str
    required: bool
    choices: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class TemplateLayout:
    """How a collection reads its template: where the header is, who answers, which columns are what."""

    plan: TemplatePlan
    respondents: str  # enterprise | shop
    registry: tuple[TemplateColumn, ...]  # answered by the registries: 企业名称, 统一社会信用代码, 序号, 区, 街道, 楼宇
    fields: tuple[TemplateField, ...]
    title: str | None


def _dictionary() -> dict[str, tuple[str, str]]:
    """Header key → (field type, the spelling's canonical header) over every source kind, first kind first."""
    found: dict[str, tuple[str, str]] = {}
    for kind in S.SOURCE_KINDS:
        for f in kind.fields:
            for spelling in f.spellings:
                found.setdefault(header_key(spelling), (PARSER_TYPES.get(f.parser, "text"), f.header))
    return found


DICTIONARY = _dictionary()


def clean_label(text: str) -> tuple[str, bool]:
    """(label, required): a header's text as a field's label, the 必填 mark (*, ※) taken off; at most 60 characters."""
    label = clean_scalar(text) or ""
    required = bool(label) and (label[0] in REQUIRED_MARKS or label[-1] in REQUIRED_MARKS)
    label = label.strip(REQUIRED_MARKS + " ")
    return label[:LABEL_MAX], required


def guess_type(label: str) -> tuple[str, str]:
    """(field type, why) for a label: the header dictionary first, then the words of the label and its unit."""
    key = header_key(label)
    if key in DICTIONARY:
        kind, header = DICTIONARY[key]
        return kind, "表头词典" if header_key(header) == key else f"表头词典，同“{header}”"
    text = clean_scalar(label) or ""
    unit_match = _UNIT.search(text)
    unit = unit_match.group(1).lower() if unit_match else None
    core = text[:unit_match.start()].strip() if unit_match else text
    if core.startswith("是否"):
        return "yes_no", "以“是否”开头"
    if "身份证" in core:
        return "resident_id", "含“身份证”"
    for word in ("电话", "手机"):
        if word in core:
            return "phone", f"含“{word}”"
    if core.endswith("日期"):
        return "date", "以“日期”结尾"
    if core.endswith("时间"):
        return "datetime", "以“时间”结尾"
    ending = next((e for e in COUNT_ENDINGS if core.endswith(e)), None)
    if ending is not None:
        return "integer", f"以“{ending}”结尾"
    if unit in COUNT_UNITS:
        return "integer", f"单位“{unit}”"
    word = next((w for w in MEASURE_WORDS if w in core), None)
    if word is not None:
        return "number", f"含“{word}”"
    if unit in MEASURE_UNITS:
        return "number", f"单位“{unit}”"
    if core.endswith("数") and not core.endswith(NOT_COUNTS):
        return "integer", "以“数”结尾"
    return "text", "未能从标签判断，按文本"


def is_person_name(label: str) -> bool:
    key = header_key(label)
    return any(key.endswith(word) for word in PERSON_NAME_WORDS)


def _drop_downs(ws: Worksheet, first_row: int) -> dict[int, tuple[str, ...]]:
    """Column index → the choices of an in-cell drop-down (a list typed into the validation) over its data rows."""
    found: dict[int, tuple[str, ...]] = {}
    for validation in ws.data_validations.dataValidation:
        formula = (validation.formula1 or "").strip()
        if validation.type != "list" or not formula.startswith('"'):
            continue
        choices = tuple(dict.fromkeys(c for part in formula.strip('"').split(",") if (c := clean_scalar(part))))
        for part in str(validation.sqref).split():
            min_col, _, max_col, max_row = range_boundaries(part)
            if max_row >= first_row and len(choices) >= 2:
                found.update(dict.fromkeys(range(min_col, max_col + 1), choices))
    return found


def _title(ws: Worksheet, header_top: int) -> str | None:
    """The first text above the header that is not a note (填报单位：…) nor an attachment number (附件1): the
    template's title row."""
    if header_top <= 1:
        return None
    for row in ws.iter_rows(min_row=1, max_row=header_top - 1, values_only=True):
        texts = [t for v in row if not (isinstance(v, str) and v.startswith("=")) and (t := clean_scalar(v))]
        if texts and not any(":" in t for t in texts) and not _ATTACHMENT.match(texts[0]):
            return texts[0][:100]
    return None


def layout(workbook: Workbook, name: str) -> TemplateLayout:
    """The template's layout for a collection; the same reading serves its creation and its export."""
    try:
        plan = plan_template(workbook, name)
    except TemplateError as exc:
        raise DefinitionError(str(exc)) from exc
    if plan.unit not in ("enterprise", "shop"):
        raise DefinitionError(f"{name}: 表头每行是一个{UNIT_LABELS[plan.unit]}；信息收集的模板须有“企业名称”"
                              "“统一社会信用代码”或“店铺名称”一列，每行一个填报对象")
    ws = workbook[plan.sheet]
    drop_downs = _drop_downs(ws, plan.first_row)
    registry: list[TemplateColumn] = []
    fields: list[TemplateField] = []
    seen: set[str] = set()
    for column in plan.columns:
        meaning = column.meaning
        if meaning is not None and (meaning.role in ("key", "sequence") or meaning.name in REGISTRY_ATTRIBUTES):
            registry.append(column)
            continue
        label, required = clean_label(column.label)
        if not label:
            continue
        base, n = label, 2
        while label in seen:
            label, n = f"{base[:LABEL_MAX - 4]}（{n}）", n + 1
        seen.add(label)
        kind, reason = guess_type(label)
        choices: tuple[str, ...] = tuple(S.QUARANTINE_STATES) if kind == "choice" else ()
        if column.index in drop_downs:
            choices = drop_downs[column.index]
            yes_no = set(choices) <= {"是", "否"}
            kind, choices = ("yes_no", ()) if yes_no else ("choice", choices)
            reason = f"单元格下拉选项：{' / '.join(drop_downs[column.index])}"
        fields.append(TemplateField(column, label, kind, required, choices, reason))
    return TemplateLayout(plan, plan.unit, tuple(registry), tuple(fields), _title(ws, plan.header_top))


def _defaults(data: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The definition's data with the settings given (None: keep the file's) and today's dates where none."""
    data = {**data, **{k: v for k, v in settings.items() if v is not None}}
    if data.get("start") is None:
        data["start"] = config.local_now().date()
    start = data["start"]
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start.strip())
        except ValueError:
            pass
    if data.get("end") is None and isinstance(start, date):
        data["end"] = start + timedelta(days=DEFAULT_DAYS)
    return data


def definition_from_template(source: Path | bytes | IO[bytes], name: str, scope: str, title: str | None = None,
                             **settings: Any) -> tuple[CollectionDef, list[str]]:
    """A draft definition from a department's template, and a note per guess (Chinese, one line each).

    ``settings`` are further items of the definition (department, frequency, start, end, deadline, buildings);
    the title is ``title``, else the template's title row, else the file's name."""
    if Path(name).suffix.lower() not in TEMPLATE_SUFFIXES:
        raise DefinitionError(f"{name}: 模板须为 .xlsx 文件；.xls 等旧格式请在 Excel 中“另存为 .xlsx”后再试")
    data = source.read_bytes() if isinstance(source, Path) else source if isinstance(source, bytes) else source.read()
    if len(data) > TEMPLATE_MAX_BYTES:
        raise DefinitionError(f"{name}: 模板超过 {TEMPLATE_MAX_BYTES >> 20} MB；请只留表头（空白模板）再试")
    try:
        workbook = open_template(io.BytesIO(data), name)
    except TemplateError as exc:
        raise DefinitionError(str(exc)) from exc
    found = layout(workbook, name)
    if not found.fields:
        raise DefinitionError(f"{name}: 除填报对象（企业名称、统一社会信用代码等）外没有其他列，没有可收集的字段")
    plan = found.plan
    rows = (f"第 {plan.header_top} 行" if plan.header_rows == 1
            else f"第 {plan.header_top}–{plan.header_top + plan.header_rows - 1} 行")
    chosen = title or found.title or Path(name).stem
    notes = [f"标题：{chosen}" + ("（取自模板标题行）" if not title and found.title else ""),
             f"表头：工作表 {plan.sheet}，{rows}；填报对象：{RESPONDENTS[found.respondents]}"]
    for column in found.registry:
        meaning = column.meaning
        role = ("序号，导出时编号" if meaning and meaning.role == "sequence" else
                "填报对象，按名录匹配" if meaning and meaning.role == "key" else
                "填报时自动记录" if meaning and meaning.name == "submitted_at" else "导出时由名录填写")
        notes.append(f"{column.letter} {column.label}：{role}，不作字段")
    fields = []
    for i, f in enumerate(found.fields, start=1):
        field: dict[str, Any] = {"key": f"f{i}", "label": f.label, "type": f.type, "required": f.required}
        if f.choices:
            field["choices"] = list(f.choices)
        if f.type == "integer":
            field["min"] = 0
        fields.append(field)
        extra = "，必填" if f.required else ""
        extra += "，不小于 0" if f.type == "integer" else ""
        extra += f"，选项：{' / '.join(f.choices)}" if f.choices else ""
        notes.append(f"{f.column.letter} {f.label}：{FIELD_TYPE_LABELS[f.type]}（{f.reason}）{extra}")
    notes.append("以上类型是猜测：请在发布前核对，改正后再开始收集")
    values = _defaults({"title": chosen, "scope": scope, "respondents": found.respondents, "fields": fields}, settings)
    return validated(values, name), notes


# --- definition files ------------------------------------------------------------------------------

ITEM_WORDS = {"title": "标题", "department": "发起部门", "scope": "范围", "respondents": "填报对象", "buildings": "楼宇",
              "frequency": "频次", "start": "开始日期", "end": "结束日期", "deadline": "截止时间", "fields": "字段",
              "key": "键", "label": "标签", "type": "类型", "required": "必填", "choices": "选项", "min": "下限",
              "max": "上限"}
_VALIDATOR_WORDS = (("lists at least two choices", "单选、多选字段至少列出两个选项"),
                    ("only choice fields list choices", "只有单选（choice）、多选（choices）字段可以列选项"),
                    ("bounds apply to", "上下限（min、max）只适用于整数、数值和日期字段"),
                    ("min is above max", "下限大于上限"), ("end is before start", "结束日期早于开始日期"))


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """An error's place in the file, by its items' names: fields[2].type（第 3 个字段“联系电话”的类型）."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
        items = data.get("fields") if isinstance(data, dict) else None
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        label = f"“{item['label']}”" if isinstance(item, dict) and item.get("label") else ""
        what = f"第 {loc[1] + 1} 个字段{label}" + (f"的{ITEM_WORDS.get(str(loc[2]), loc[2])}" if len(loc) > 2 else "")
        return f"{path}（{what}）"
    return f"{path}（{ITEM_WORDS[str(loc[0])]}）" if loc and str(loc[0]) in ITEM_WORDS else path or "定义"


def _said(error: dict[str, Any]) -> str:
    kind, ctx, loc = error["type"], error.get("ctx") or {}, error["loc"]
    got = error.get("input")
    shown = f"（收到 {got!r}）" if isinstance(got, (str, int, float)) and len(str(got)) <= 40 else ""
    last = str(loc[-1]) if loc else ""
    if kind == "missing":
        return "必须填写"
    if kind == "extra_forbidden":
        return "不是定义文件的项（拼写错误？可用的项见 docs/collections.md）"
    if kind == "string_pattern_mismatch":
        if last == "scope":
            return f"须为区划代码：6 位（市、区）或 9 位（街道）{shown}"
        return f"须以小写英文字母开头，只含小写字母、数字和下划线，最多 40 个字符{shown}"
    if kind == "literal_error":
        allowed = {"type": FIELD_TYPE_LABELS, "respondents": RESPONDENTS, "frequency": FREQUENCIES}.get(last)
        listed = "、".join(f"{k}（{v}）" for k, v in allowed.items()) if allowed else ctx.get("expected", "")
        return f"应为 {listed} 之一{shown}"
    if kind == "string_too_short":
        return "不能为空"
    if kind == "string_too_long":
        return f"太长：最多 {ctx.get('max_length')} 个字"
    if kind == "too_short":
        return f"至少要有 {ctx.get('min_length')} 项"
    if kind.startswith(("date_", "datetime_")):
        return f"不是日期，应写作 2020-02-10{shown}"
    if kind.startswith("time_"):
        return f"不是时间，应写作 \"10:00\"{shown}"
    if kind.startswith("bool_"):
        return f"应为 true 或 false{shown}"
    if kind.startswith(("float_", "int_")):
        return f"应为数字{shown}"
    if kind == "string_type":
        return f"应为文字{shown}"
    if kind == "list_type":
        return "应为列表（每项一行，以“- ”开头）"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "应为一组“项: 值”"
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
        if "two fields named" in text:
            return f"有两个字段都叫“{text.split('two fields named', 1)[1].strip()}”：键和标签都不能重复"
        return next((words for phrase, words in _VALIDATOR_WORDS if phrase in text), text)
    return str(error["msg"])


def explain(error: ValidationError, data: Any = None) -> str:
    """A pydantic error of a definition in one Chinese line, naming each item at fault."""
    parts = [f"{_where(e['loc'], data)}：{_said(e)}" for e in error.errors()[:5]]
    more = error.error_count() - len(parts)
    return "；".join(parts) + (f"；另有 {more} 处错误" if more > 0 else "")


def validated(data: Any, name: str) -> CollectionDef:
    try:
        return CollectionDef.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(f"{name}: {explain(exc, data)}") from None


def _tidy(data: dict[str, Any]) -> dict[str, Any]:
    """What YAML reads differently from what was meant: a code written as a number, a time of day read as
    minutes (YAML 1.1 reads 10:00 as 600), numbers among choices."""
    if isinstance(data.get("scope"), int):
        data["scope"] = str(data["scope"])
    deadline = data.get("deadline")
    if isinstance(deadline, int) and not isinstance(deadline, bool) and 0 <= deadline < 24 * 60:
        data["deadline"] = time(deadline // 60, deadline % 60)
    for field in data.get("fields") or []:
        if isinstance(field, dict) and isinstance(field.get("choices"), list):
            field["choices"] = [str(c) if isinstance(c, (int, float)) and not isinstance(c, bool) else c
                                for c in field["choices"]]
    return data


def parse_definition(content: bytes | str, name: str, **settings: Any) -> CollectionDef:
    """A definition file's content (YAML, or JSON for a .json name) with ``settings`` over its items."""
    text = content if isinstance(content, str) else _decoded(content, name)
    try:
        data = json.loads(text) if name.lower().endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"{name}: 第 {exc.lineno} 行：不是有效的 JSON（{exc.msg}）") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行：" if mark is not None else ""
        raise DefinitionError(f"{name}: {where}不是有效的 YAML（{getattr(exc, 'problem', None) or exc}）") from None
    if not isinstance(data, dict):
        raise DefinitionError(f"{name}: 定义文件须是一组“项: 值”（title、scope、fields 等，见 docs/collections.md）")
    return validated(_defaults(_tidy(data), settings), name)


def _decoded(content: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DefinitionError(f"{name}: 无法识别文件编码；请存为 UTF-8")


def definition_from_file(path: Path, **settings: Any) -> CollectionDef:
    if path.suffix.lower() not in DEFINITION_SUFFIXES:
        raise DefinitionError(f"{path.name}: 定义文件须为 .yaml、.yml 或 .json")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"{path}: 无法读取（{exc.strerror}）") from None
    return parse_definition(content, path.name, **settings)
