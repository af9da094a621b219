"""Exports of external form tools through `onenet ingest`: JSON lines and the CSV a form tool writes."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.models import Enterprise, ReopeningReport, ReturningStaff
from tests.fixtures.messy import wrong_check, write_csv
from tests.intake.conftest import P1, P2, P3, U1, U2, World
from tests.intake.test_qr import run_cli


def ingest(world: World, *paths: Path) -> list[dict]:  # type: ignore[type-arg]
    proc = run_cli(world.url, "ingest", *map(str, paths), "--json")
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["files"]


def test_jsonl_export_with_nested_staff_loads_through_ingest(world: World, tmp_path: Path) -> None:
    lines = [
        {"提交时间": "2020-02-10 09:12:00", "企业名称": "上海甲科技有限公司", "统一社会信用代码": U1, "所属街道": "江苏路",
         "是否复工": "是", "实际复工日期": "2020-02-10", "员工总数": 30, "已返岗人数": 12,
         "返岗人员": [{"姓名": "张三", "身份证号": P1, "返沪日期": "2020-02-03", "隔离状态": "居家隔离"},
                      {"姓名": "坏号", "身份证号": wrong_check(P3)}]},
        {"提交时间": "2020-02-10 11:40:00", "企业名称": "上海乙贸易有限公司", "统一社会信用代码": U2, "街道": "江苏路街道",
         "是否复工": False, "计划复工日期": "2020/2/17",
         "返岗人员": [{"姓名": "李四", "身份证号": P2, "返沪日期": "2月8日"}]},
        {},
    ]
    path = tmp_path / "问卷导出.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    [result] = ingest(world, path)
    assert result["status"] == "loaded", result
    assert result["kind"] == "reopening_report+returning_staff"
    assert result["rows"] == 5 and result["rejected"] == 1
    with Session(world.engine) as s:
        reports = {s.get(Enterprise, r.enterprise_id).name: r for r in s.scalars(select(ReopeningReport))}
        assert reports["上海甲科技有限公司"].reopened is True and reports["上海甲科技有限公司"].staff_total == 30
        assert str(reports["上海甲科技有限公司"].submitted_at) == "2020-02-10 09:12:00"
        assert reports["上海乙贸易有限公司"].reopened is False
        assert str(reports["上海乙贸易有限公司"].planned_reopen_date) == "2020-02-17"
        staff = {p.name: p for p in s.scalars(select(ReturningStaff))}
        assert set(staff) == {"张三", "李四"}  # the bad ID was rejected, the rest loaded
        assert staff["张三"].enterprise_id == reports["上海甲科技有限公司"].enterprise_id
        assert str(staff["李四"].return_date) == "2020-02-08"
    proc = run_cli(world.url, "rejects")
    assert "问卷导出.jsonl [返岗人员] row 1" in proc.stdout and "校验位" in proc.stdout
    assert wrong_check(P3) not in proc.stdout
    # the same export again changes nothing
    assert ingest(world, path)[0]["status"] == "unchanged"


def test_broken_jsonl_is_unreadable_and_changes_nothing(world: World, tmp_path: Path) -> None:
    path = tmp_path / "truncated.jsonl"
    path.write_text('{"企业名称": "上海甲科技有限公司", "是否复工": "是"}\n{"企业名称": "上海乙', encoding="utf-8")
    [result] = ingest(world, path)
    assert result["status"] == "failed" and "第 2 行" in result["error"]


def test_form_tool_csv_export_loads(world: World, tmp_path: Path) -> None:
    """What 问卷星/金数据-style tools write: their own columns around the questions, which carry docs/sources.md headers."""
    path = write_csv(tmp_path / "复工申报_表单导出.csv", [
        ["序号", "提交答卷时间", "所用时间", "来源IP", "企业名称", "统一社会信用代码", "所在楼宇", "所属街道", "是否已复工",
         "实际复工时间", "计划复工时间", "员工人数", "到岗人数", "填报人", "联系电话", "提交时间"],
        ["1", "2020/2/10 9:01:02", "95秒", "10.0.0.1", "上海甲科技有限公司", U1, "华鑫大厦", "江苏路", "√",
         "2020年2月10日", "", "30", "20", "周八", "138 0013 8000", "2020/2/10 9:01:02"],
        ["2", "2020/2/11 8:15:40", "60秒", "10.0.0.2", "上海新开张有限公司", "", "华鑫大厦", "江苏路", "×",
         "", "2020.2.20", "8", "", "吴九", "13900001111", "2020/2/11 8:15:40"],
    ], encoding="utf-8-sig")
    [result] = ingest(world, path)
    assert result["status"] == "loaded" and result["kind"] == "reopening_report", result
    assert result["rows"] == 2 and result["rejected"] == 0
    with Session(world.engine) as s:
        new = s.scalars(select(Enterprise).where(Enterprise.name == "上海新开张有限公司")).one()
        assert new.from_registry is False
        report = s.scalars(select(ReopeningReport).where(ReopeningReport.enterprise_id == new.id)).one()
        assert str(report.submitted_at) == "2020-02-11 08:15:40" and report.reopened is False
