"""A collection's definition from a department's template (real .xlsx files made with openpyxl, as offices make
them) and from definition files (YAML and JSON, the example of docs/collections.md among them)."""
from __future__ import annotations

import json
import re
from datetime import date, time
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from etl.collection_template import (
    DefinitionError,
    definition_from_file,
    definition_from_template,
    guess_type,
    parse_definition,
)
from schemas.collections import CollectionDef

ROOT = Path(__file__).resolve().parents[2]
MASK_HEADER = ["企业名称", "统一社会信用代码", "需求数量(只)", "联系人", "联系电话", "是否已复工"]
HEADER_FILL = "FFD9E1F2"


def mask_template(path: Path, header: list[str] | None = None, *, title: str | None = "口罩需求登记表",
                  drop_down: str | None = None) -> Path:
    """口罩需求登记表 as a district office sends it: an attachment number, a merged title row, a 填报单位 line, the
    header with a fill, three formatted blank rows and a sign-off row; ``drop_down`` puts a list on the last column."""
    header = header or MASK_HEADER
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记表"
    ws["A1"] = "附件1"
    last = openpyxl.utils.get_column_letter(len(header))
    if title:
        ws["A2"] = title
        ws["A2"].font = Font(bold=True, size=16)
        ws.merge_cells(f"A2:{last}2")
    ws["A3"] = "填报单位（盖章）：                    填报日期："
    ws.merge_cells(f"A3:{last}3")
    for c, text in enumerate(header, start=1):
        cell = ws.cell(4, c, text)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.font = Font(bold=True)
    for r in range(5, 8):
        for c in range(1, len(header) + 1):
            ws.cell(r, c).number_format = "@"
    ws["A8"] = "填表人：            联系电话："
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 22
    if drop_down:
        validation = DataValidation(type="list", formula1=f'"{drop_down}"')
        ws.add_data_validation(validation)
        validation.add(f"{last}5:{last}200")
    wb.save(path)
    return path


def fields_of(definition: CollectionDef) -> list[tuple[str, str, str, bool]]:
    return [(f.key, f.label, f.type, f.required) for f in definition.fields]


def test_the_mask_template_becomes_its_fields_with_types_guessed(tmp_path: Path) -> None:
    path = mask_template(tmp_path / "口罩需求登记表.xlsx")
    definition, notes = definition_from_template(path, path.name, "310105")
    assert definition.title == "口罩需求登记表", "the merged title row, not the attachment number above it"
    assert (definition.scope, definition.respondents, definition.frequency) == ("310105", "enterprise", "once")
    assert fields_of(definition) == [("f1", "需求数量(只)", "integer", False), ("f2", "联系人", "text", False),
                                     ("f3", "联系电话", "phone", False), ("f4", "是否已复工", "yes_no", False)]
    assert definition.field("f1").min == 0
    assert definition.end > definition.start
    text = "\n".join(notes)
    assert "A 企业名称：填报对象" in text and "B 统一社会信用代码：填报对象" in text
    for line in ("C 需求数量(只)：整数", "D 联系人：文本", "E 联系电话：电话", "F 是否已复工：是/否"):
        assert line in text, line
    assert "标题：口罩需求登记表（取自模板标题行）" in text and "第 4 行" in text


def test_given_title_and_settings_win_and_bytes_are_read_as_files(tmp_path: Path) -> None:
    data = mask_template(tmp_path / "t.xlsx").read_bytes()
    definition, notes = definition_from_template(data, "t.xlsx", "310105002", title="第二批口罩", department="区经委",
                                                 frequency="daily", start=date(2020, 2, 10), end=date(2020, 2, 20))
    assert (definition.title, definition.department, definition.frequency) == ("第二批口罩", "区经委", "daily")
    assert (definition.start, definition.end, definition.deadline) == (date(2020, 2, 10), date(2020, 2, 20), time(10))
    assert notes[0] == "标题：第二批口罩"


def test_without_a_title_row_the_file_names_it(tmp_path: Path) -> None:
    path = mask_template(tmp_path / "消毒登记.xlsx", title=None)
    definition, _ = definition_from_template(path, path.name, "310105")
    assert definition.title == "消毒登记"


def test_a_header_in_the_first_row_has_no_title_row(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["企业名称", "复工人数"])
    wb.active.append(["上海甲有限公司", 3])
    wb.save(tmp_path / "复工人数.xlsx")
    definition, _ = definition_from_template(tmp_path / "复工人数.xlsx", "复工人数.xlsx", "310105")
    assert (definition.title, fields_of(definition)) == ("复工人数", [("f1", "复工人数", "integer", False)])


def test_shops_registry_columns_required_marks_and_drop_downs(tmp_path: Path) -> None:
    header = ["序号", "所属街道", "店铺名称", "统一社会信用代码", "*消毒次数", "消毒日期", "租金减免金额(万元)",
              "员工身份证号", "备注", "填报时间", "口罩类型"]
    path = mask_template(tmp_path / "商铺.xlsx", header, drop_down="医用外科口罩,KN95,N95")
    definition, notes = definition_from_template(path, path.name, "310105")
    assert definition.respondents == "shop"
    assert fields_of(definition) == [("f1", "消毒次数", "integer", True), ("f2", "消毒日期", "date", False),
                                     ("f3", "租金减免金额(万元)", "number", False),
                                     ("f4", "员工身份证号", "resident_id", False), ("f5", "备注", "text", False),
                                     ("f6", "口罩类型", "choice", False)]
    assert definition.field("f6").choices == ["医用外科口罩", "KN95", "N95"]
    text = "\n".join(notes)
    assert "A 序号：序号" in text and "B 所属街道：导出时由名录填写" in text and "J 填报时间：填报时自动记录" in text
    assert "K 口罩类型：单选（单元格下拉选项：医用外科口罩 / KN95 / N95）" in text


def test_a_yes_no_drop_down_makes_a_yes_no_field(tmp_path: Path) -> None:
    path = mask_template(tmp_path / "t.xlsx", ["企业名称", "复工情况"], drop_down="是,否")
    definition, _ = definition_from_template(path, path.name, "310105")
    assert fields_of(definition) == [("f1", "复工情况", "yes_no", False)]


@pytest.mark.parametrize(("label", "kind"), [
    ("身份证号", "resident_id"), ("身份证", "resident_id"), ("手机号码", "phone"), ("法人手机", "phone"),
    ("返岗日期", "date"), ("计划开工日期", "date"), ("到岗时间", "datetime"), ("隔离人数", "integer"),
    ("床位数量", "integer"), ("口罩(只)", "integer"), ("防护服（套）", "integer"), ("宿舍床位数", "integer"),
    ("租金(元)", "number"), ("经营面积", "number"), ("体温(℃)", "number"), ("是否有发热人员", "yes_no"),
    ("是否复工", "yes_no"), ("隔离状态", "choice"), ("备注", "text"), ("防控措施", "text"), ("风险系数", "text"),
])
def test_types_guessed_from_labels(label: str, kind: str) -> None:
    assert guess_type(label)[0] == kind


@pytest.mark.parametrize(("header", "message"), [
    (["街道", "企业数"], "每行是一个街道"),
    (["企业名称", "统一社会信用代码"], "没有可收集的字段"),
])
def test_templates_that_make_no_collection(tmp_path: Path, header: list[str], message: str) -> None:
    path = mask_template(tmp_path / "t.xlsx", header)
    with pytest.raises(DefinitionError, match=message):
        definition_from_template(path, path.name, "310105")


def test_not_a_workbook(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="无法作为 Excel 工作簿打开"):
        definition_from_template(b"not a zip", "t.xlsx", "310105")
    with pytest.raises(DefinitionError, match="另存为 .xlsx"):
        definition_from_template(b"", "t.xls", "310105")


def documented_example() -> str:
    text = (ROOT / "docs" / "collections.md").read_text(encoding="utf-8")
    return re.search(r"```yaml\n(.*?)```", text, re.DOTALL).group(1)


def test_the_documented_definition_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "口罩.yaml"
    path.write_text(documented_example(), encoding="utf-8")
    definition = definition_from_file(path)
    assert (definition.title, definition.department, definition.scope) == ("口罩需求登记表", "区经委", "310105")
    assert [f.type for f in definition.fields] == ["integer", "choice", "date", "text", "phone", "yes_no"]
    assert (definition.start, definition.end) == (date(2020, 2, 10), date(2020, 2, 14))
    as_json = tmp_path / "口罩.json"
    as_json.write_text(definition.model_dump_json(), encoding="utf-8")
    assert definition_from_file(as_json) == definition


def test_yaml_read_as_meant_and_settings_over_the_file() -> None:
    text = "title: 每日体温\nscope: 310105\nfrequency: daily\ndeadline: 9:30\nstart: 2020-02-10\nend: 2020-02-20\n" \
           "fields:\n  - {key: t, label: 体温, type: number, min: 35, max: 42}\n" \
           "  - {key: shift, label: 班次, type: choice, choices: [1, 2, 3]}\n"
    definition = parse_definition(text.encode("gb18030"), "体温.yml")
    assert (definition.scope, definition.deadline) == ("310105", time(9, 30))
    assert definition.field("shift").choices == ["1", "2", "3"]
    again = parse_definition(text, "体温.yml", scope="310105002", title="每日体温（江苏路）", end=date(2020, 3, 1))
    assert (again.scope, again.title, again.end) == ("310105002", "每日体温（江苏路）", date(2020, 3, 1))


@pytest.mark.parametrize(("text", "message"), [
    ("title: x\nscope: '310105'\nfields:\n  - {key: a, label: 需求}\n  - {key: b, label: 联系电话, type: tel}\n",
     "fields[1].type（第 2 个字段“联系电话”的类型）：应为 text（文本）、integer（整数）"),
    ("scope: '310105'\nfields:\n  - {key: a, label: 需求}\n", "title（标题）：必须填写"),
    ("title: x\nscope: '310105'\nfields:\n  - {key: a, label: 需求, requird: true}\n",
     "fields[0].requird（第 1 个字段“需求”的requird）：不是定义文件的项"),
    ("title: x\nscope: '3101'\nfields:\n  - {key: a, label: 需求}\n", "scope（范围）：须为区划代码"),
    ("title: x\nscope: '310105'\nstart: 2020-02-10\nend: 2020-02-01\nfields:\n  - {key: a, label: 需求}\n",
     "结束日期早于开始日期"),
    ("title: x\nscope: '310105'\nfields:\n  - {key: a, label: 类型, type: choice, choices: [甲]}\n",
     "fields[0]（第 1 个字段“类型”）：单选、多选字段至少列出两个选项"),
    ("title: x\nscope: '310105'\nfields:\n  - {key: a, label: 甲}\n  - {key: a, label: 乙}\n", "有两个字段都叫“a”"),
    ("title: x\nscope: '310105'\nfields:\n  - {key: 需求, label: 需求}\n", "须以小写英文字母开头"),
    ("title: x\nscope: '310105'\nfields: []\n", "fields（字段）：至少要有 1 项"),
    ("title: x\nscope: '310105'\nstart: 二月十日\nfields:\n  - {key: a, label: 甲}\n", "start（开始日期）：不是日期"),
    ("- just\n- a list\n", "定义文件须是一组“项: 值”"),
    ("title: [unclosed\n", "第 2 行：不是有效的 YAML"),
])
def test_definition_errors_are_one_chinese_line_naming_the_item(text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, "定义.yaml")
    said = str(caught.value)
    assert message in said and "\n" not in said and said.startswith("定义.yaml: "), said


def test_json_errors_say_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text('{"title": "x",\n "scope": "310105",\n "fields": [}', encoding="utf-8")
    with pytest.raises(DefinitionError, match="第 3 行：不是有效的 JSON"):
        definition_from_file(path)
    path.write_text(json.dumps({"title": "x", "scope": "310105", "fields": [{"key": "a", "label": "甲"}],
                                "start": "2020-02-10"}), encoding="utf-8")
    assert definition_from_file(path).end == date(2020, 2, 17), "a week when no end is given"
    with pytest.raises(DefinitionError, match="须为 .yaml、.yml 或 .json"):
        definition_from_file(tmp_path / "d.txt")
