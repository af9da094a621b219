"""A tiny street with buildings and enterprises, loaded through the real pipeline, and a live intake app."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import flask
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from dashboard.intake import register_intake
from etl.intake import building_token
from etl.pipeline import Ingestor
from etl.database import make_engine
from schemas.models import Building, Enterprise
from tests.fixtures.messy import make_id, make_uscc, write_csv

JSL, XHL = "310105002", "310105004"
U1 = make_uscc("91310105MA1FL0001")
U2 = make_uscc("91310105MA1FL0002")
U3 = make_uscc("91310105MA1FL0003")
U_NEW = make_uscc("91310105MA1FL0009")
P1 = make_id("310105", "19850312", "123")
P2 = make_id("310104", "19920315", "222")
P3 = make_id("310115", "19951111", "333")


def write_registry(folder: Path) -> list[Path]:
    """Division, building and enterprise registries as a street office's files would hold them."""
    return [
        write_csv(folder / "区划表.csv", [
            ["区划代码", "区划名称", "级别", "上级区划代码"],
            [JSL, "江苏路街道", "街道", "310105"],
            [XHL, "新华路街道", "街道", "310105"],
        ]),
        write_csv(folder / "楼宇台账.csv", [
            ["楼宇名称", "地址", "所属街道", "区", "业主单位", "联系人", "联系电话", "楼宇类型"],
            ["华鑫大厦", "长宁区江苏路100号", "江苏路街道", "长宁区", "华鑫物业", "王伟民", "13800138000", "商务楼宇"],
            ["江苏路商务楼", "长宁区江苏路200号", "江苏路", "长宁", "江苏路物业", "钱芳", "13900001111", "商务楼宇"],
            ["愚园路一号楼", "长宁区愚园路1号", "江苏路", "长宁", "愚园物业", "赵敏", "13700002222", "商务楼宇"],
            ["新华科技楼", "长宁区新华路300号", "新华路街道", "长宁区", "新华物业", "孙立", "021-62123456", "科技园区"],
        ]),
        write_csv(folder / "企业名录.csv", [
            ["企业名称", "统一社会信用代码", "经营地址", "所在楼宇", "所属街道", "所属区", "行业", "类型"],
            ["上海甲科技有限公司", U1, "江苏路100号8楼", "华鑫大厦", "江苏路", "长宁", "软件", "企业"],
            ["上海乙贸易有限公司", U2, "江苏路100号9楼", "华鑫大厦", "江苏路", "长宁", "零售", "企业"],
            ["丙咨询工作室", "", "江苏路100号10楼", "华鑫大厦", "江苏路", "长宁", "商务服务", "个体工商户"],
            ["上海丁设计有限公司", U3, "江苏路200号3楼", "江苏路商务楼", "江苏路", "长宁", "设计", "企业"],
        ]),
    ]


@dataclass
class World:
    url: str
    engine: Engine
    tokens: dict[str, str]  # building name → token
    building_ids: dict[str, int]
    enterprise_ids: dict[str, int]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(db_url)
    results = Ingestor(engine, log=lambda m: None).ingest(write_registry(tmp_path / "registry"))
    assert all(r.status == "loaded" and r.rejected == 0 for r in results), results
    with Session(engine) as s:
        buildings = s.execute(select(Building.name, Building.id, Building.street_code, Building.name_key)).all()
        ents = dict(s.execute(select(Enterprise.name, Enterprise.id)).all())
    yield World(db_url, engine, {n: building_token(sc, k) for n, _, sc, k in buildings},
                {n: i for n, i, _, _ in buildings}, ents)
    engine.dispose()


def make_app(engine: Engine) -> flask.Flask:
    app = flask.Flask(__name__)
    register_intake(app, engine)
    return app


@pytest.fixture
def app(world: World) -> flask.Flask:
    return make_app(world.engine)


@pytest.fixture
def live_server(app: flask.Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
