"""The shell is built from dash.page_registry: each page declares its path, name, order and export."""
from __future__ import annotations

from pathlib import Path

from dashboard import app as dashboard_app
from etl.export import SECTIONS
from etl.database import init_db, make_engine


def test_navigation_and_exports_come_from_the_pages_own_registration(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'onenet.db'}")
    init_db(engine)
    dashboard_app.create_app(engine)
    pages = dashboard_app.pages()
    assert [(p["path"], p["name"]) for p in pages] == [
        ("/", "总览"), ("/reopening", "复工"), ("/missing", "漏报"), ("/staff", "返岗人员"), ("/quality", "数据质量"),
        ("/collections", "信息收集"), ("/collections/new", "新建信息收集"), ("/collections/view", "信息收集"),
        ("/users", "用户管理"), ("/account", "我的账户"), ("/audit", "审计日志")]
    for page in pages[:5]:
        assert page["export_sections"] and set(page["export_sections"]) <= set(SECTIONS), page["path"]
    assert dashboard_app.page_at("/missing")["export_sections"] == ("missing",)
    assert dashboard_app.page_at("/nowhere") is None
    assert callable(dashboard_app.page_at("/collections/view")["export"])  # its 导出 Excel: the collection's answers
