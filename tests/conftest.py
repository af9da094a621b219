"""Real databases for tests: a SQLite file per test, and a schema per test on the PostgreSQL server; the demo city,
generated and loaded once per run (``demo_build``), as a copy of a test's own (``demo_database``); and the live
demo site of the browser tests (tests/fixtures/web.py) serving it, one per pytest process.

Set ONENET_TEST_PG (SQLAlchemy URL of a server database) to point elsewhere; the default is the
local server of this machine.  PostgreSQL tests are never silently skipped: if the server is down
they fail, because the product promises both engines.  ``ONENET_SKIP_PG=1`` skips them on purpose
(a laptop without a server), and says so in the summary.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures import web
from tests.fixtures.demo import copy_demo_database

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

PG_BASE = os.environ.get("ONENET_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/onenet_test")


def _ensure_pg_database() -> None:
    admin = create_engine(PG_BASE.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    dbname = PG_BASE.rsplit("/", 1)[1].split("?")[0]
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": dbname}) is None:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    admin.dispose()


@pytest.fixture(autouse=True)
def _isolated_secret(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests away from the developer's data/ folder and secret."""
    home = tmp_path_factory.mktemp("onenet_home")
    monkeypatch.setenv("ONENET_SECRET", "test-secret-not-for-production-use")
    monkeypatch.setenv("ONENET_DATA_DIR", str(home))
    monkeypatch.delenv("ONENET_DB", raising=False)


@contextmanager
def empty_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database: an SQLite file in ``folder``, or a fresh schema on the server."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'onenet.db'}"
        return
    _ensure_pg_database()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def _uses_demo_city(item: pytest.Item) -> bool:
    return "demo_build" in getattr(item, "fixturenames", ())


def _demo_city_tests_after_the_first_quarter(items: list[pytest.Item]) -> None:
    """The modules with tests of the demo city (the live site's among them) move behind the first quarter of the run,
    so that its database is built (in the background, from the run's start) before a worker asks for it, and not
    while it waits."""
    live = {_module(item) for item in items if _uses_demo_city(item)}
    if not live:
        return
    moved = [item for item in items if _module(item) in live]
    rest = [item for item in items if _module(item) not in live]
    at = len(rest) // 4
    while 0 < at < len(rest) and _module(rest[at]) == _module(rest[at - 1]):
        at += 1
    items[:] = rest[:at] + moved + rest[at:]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _demo_city_tests_after_the_first_quarter(items)
    if os.environ.get("ONENET_SKIP_PG") != "1":
        return
    skip = pytest.mark.skip(reason="ONENET_SKIP_PG=1: PostgreSQL tests skipped on purpose")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty database, on each engine the product supports."""
    with empty_database(request.param, tmp_path) as url:
        yield url


def _demo_site_build(factory: pytest.TempPathFactory) -> Path:
    """One folder per test run, shared by its pytest-xdist workers (whose temporary folders are its children)."""
    base = factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "demo_site"


@pytest.fixture(scope="session", autouse=True)
def _demo_site_started_early(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """When the run has tests of the demo city, it is built in the background while the first tests run."""
    builder = None
    if any(_uses_demo_city(item) for item in request.session.items):
        builder = web.start_demo_build(_demo_site_build(tmp_path_factory))
    yield
    if builder is not None:
        builder.wait(timeout=600)


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's demo city (seed 7, scale 0.05), once built: ``onenet.db`` (the inbox loaded by `onenet ingest`, the
    demo users and the street official of the live site), ``demo/inbox`` and ``demo/truth.json``.  Read it, never
    write it: take a copy with ``demo_database``."""
    build = _demo_site_build(tmp_path_factory)
    web.demo_built(build)
    return build


@contextmanager
def demo_database(build: Path, kind: str, folder: Path) -> Iterator[str]:
    """The URL of a database of ``kind`` (an SQLite file in ``folder``, or a fresh schema) holding the demo city."""
    with empty_database(kind, folder) as url:
        copy_demo_database(build / "onenet.db", url)
        yield url


@pytest.fixture(scope="session")
def site(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[web.Site]:
    """The demo city served by `onenet serve`, one server per pytest process."""
    with web.serve_demo_site(demo_build, tmp_path_factory.mktemp("dashboard")) as served:
        yield served


@pytest.fixture(scope="session")
def chromium(site: web.Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = web.chromium(site.downloads, tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium: WebDriver, site: web.Site) -> WebDriver:
    """The process's chromium as fresh as a new one, whatever the test before it left."""
    return web.fresh_window(chromium, site)
