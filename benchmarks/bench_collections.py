"""A collection (信息收集) at city size: figures, export and dashboard view against a plain SQL GROUP BY over the same
answers, in the same run (issue 20).

    python benchmarks/bench_collections.py [--respondents 300000] [--answers 1000000] [--db URL] [--repeat 3]

The database: the demo city's world (etl.democity.world) at the scale giving N enterprises (shops, half as many, on
top and not asked), bulk-inserted as benchmarks/bench_fill.py does; one open one-off city collection made from a
department's template (口罩需求登记表: merged title, a drop-down, a field added after the template) and M answers
bulk-inserted into collection_answer: 85 % of the respondents answer, most several times (the latest counts), a
twentieth of the answers stored after later ones, a hundredth from shops, some after the deadline or the day measured.
``--db URL`` reuses a database an earlier run built, or adds the collection to any with enterprises (a demo city).
PostgreSQL is ANALYZEd after the load, as autovacuum would.

The built-in collections' aggregates are built first, as `onenet serve` builds them (the list page shows them).

Timed ``--repeat`` times (best counts; first and median shown): the baseline (one GROUP BY over collection_answer
joined to enterprise: distinct respondents answered per street by the end of the day); the collection's kept figures
(etl.collection_summary) built whole (once, committed), rebuilt for the biggest street (what a QR answer costs), and
the city's status counted live instead (the collection marked stale); etl.collection_figures' status
at each level, field_summaries, latest_answers, missing_respondents of the biggest street, export_answers of the city
(template filled in, and plain); the query-layer calls of each callback of the collection view
(dashboard.queries.collections) for the city, the biggest district and its biggest street; and those callbacks posted
to /_dash-update-component by a logged-in city user through Flask's test client. Prints seconds, × baseline, and for
the dashboard whether each stays under 300 ms.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ONENET_SECRET", "benchmark-secret-of-32-bytes-or-more")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import Engine, distinct, func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks.demo_world import insert_frames, make_world, progress, registry_frames  # noqa: E402

CITY = "310000"
TITLE = "口罩需求登记表（性能测试）"
START, END, DAY = date(2020, 2, 10), date(2020, 2, 14), date(2020, 2, 14)
DEADLINE = "17:00"
ANSWERED_SHARE, LATE_SHARE, SHOP_SHARE = 0.85, 0.05, 0.01
TARGET_MS = 300
USER, PASSWORD = "bench-city", "bench-collections-pass-2020"
HEADER = ["序号", "企业名称", "统一社会信用代码", "需求数量(只)", "口罩类型", "联系人", "联系电话", "是否已复工", "办公面积(平方米)"]
KINDS = ["医用外科口罩", "KN95", "N95"]
NEEDS = ["口罩", "消毒液", "手套", "测温枪"]


def say(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- the database


def template_bytes() -> bytes:
    """口罩需求登记表 as a district office sends it: attachment number, merged title, 填报单位 line, styled header, a
    drop-down on 口罩类型, blank formatted rows and a sign-off row."""
    import openpyxl  # noqa: PLC0415
    from openpyxl.styles import Font, PatternFill  # noqa: PLC0415
    from openpyxl.worksheet.datavalidation import DataValidation  # noqa: PLC0415

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记表"
    last = openpyxl.utils.get_column_letter(len(HEADER))
    ws["A1"] = "附件1"
    ws["A2"] = "口罩需求登记表"
    ws["A2"].font = Font(bold=True, size=16)
    ws.merge_cells(f"A2:{last}2")
    ws["A3"] = "填报单位（盖章）：                    填报日期："
    ws.merge_cells(f"A3:{last}3")
    for c, label in enumerate(HEADER, start=1):
        cell = ws.cell(4, c, label)
        cell.fill = PatternFill("solid", fgColor="FFD9E1F2")
        cell.font = Font(bold=True)
        ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width = 16
    for row in ws.iter_rows(min_row=5, max_row=7, max_col=len(HEADER)):
        for cell in row:
            cell.number_format = "@"
    ws["A8"] = "填表人：            联系电话："
    validation = DataValidation(type="list", formula1=f'"{",".join(KINDS)}"', sqref="E5:E200")
    ws.add_data_validation(validation)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def build_registry(engine: Engine, respondents: int) -> None:
    """The demo world's divisions, buildings, enterprises and shops at the scale giving ``respondents`` enterprises."""
    w = make_world(respondents, say)
    with Session(engine) as session, session.begin():
        insert_frames(session, registry_frames(w), say, file_name="bench_collections.py (the demo world, bulk-inserted)",
                      kind="enterprise+building", rows=int(w.e["n"]))


def answers_json(rng: np.random.Generator, n: int) -> list[str]:
    """What n respondents typed, as etl.collections.check_answers stores it (keys f1… from the template, needs
    added after it)."""
    from etl.democity.names import person_names  # noqa: PLC0415

    demand = rng.integers(0, 5000, n)
    kind = np.array(KINDS)[rng.integers(0, len(KINDS), n)]
    contact = person_names(rng, n)
    phone = rng.integers(13_000_000_000, 19_000_000_000, n)
    reopened = np.where(rng.random(n) < 0.7, "true", "false")
    area = np.round(rng.uniform(20, 5000, n), 1)
    ticked = rng.random((n, len(NEEDS))) < 0.4
    needs = [json.dumps([x for x, t in zip(NEEDS, row) if t], ensure_ascii=False) for row in ticked.tolist()]
    return [f'{{"f1": {d}, "f2": "{k}", "f3": "{c}", "f4": "{p}", "f5": {r}, "f6": {a}, "needs": {w}}}'
            for d, k, c, p, r, a, w in zip(demand.tolist(), kind.tolist(), contact.tolist(), phone.tolist(),
                                            reopened.tolist(), area.tolist(), needs)]


def build_collection(engine: Engine, answers: int) -> int:
    """The open collection and its answers over the enterprises the database holds; its id."""
    from etl.collection_template import definition_from_template  # noqa: PLC0415
    from etl.collections import create, set_status  # noqa: PLC0415
    from etl.store import bulk_insert  # noqa: PLC0415
    from schemas.collection_tables import CollectionAnswer  # noqa: PLC0415
    from schemas.collections import OPEN, CollectionDef  # noqa: PLC0415
    from schemas.models import CONFIRMED, Enterprise  # noqa: PLC0415
    from schemas.sources import SHOP_KIND  # noqa: PLC0415

    started = time.perf_counter()
    template = template_bytes()
    drafted, _ = definition_from_template(template, "口罩需求登记表.xlsx", CITY, title=TITLE, department="市经济信息化委",
                                          start=START.isoformat(), end=END.isoformat(), deadline=DEADLINE)
    data = drafted.model_dump(mode="json")
    data["fields"].append({"key": "needs", "label": "所需物资", "type": "choices", "choices": NEEDS})
    definition = CollectionDef.model_validate(data)
    say(f"the collection: {', '.join(f'{f.label} {f.type}' for f in definition.fields)}")
    rng = np.random.default_rng(11)
    with Session(engine) as session, session.begin():
        rows = session.execute(select(Enterprise.id, Enterprise.kind).where(Enterprise.status == CONFIRMED)).all()
        firms = np.array([i for i, kind in rows if kind != SHOP_KIND], dtype=np.int64)
        shops = np.array([i for i, kind in rows if kind == SHOP_KIND], dtype=np.int64)
        from_shops = int(answers * SHOP_SHARE) if len(shops) else 0
        answered = rng.choice(firms, min(int(len(firms) * ANSWERED_SHARE), answers - from_shops), replace=False)
        owners = np.concatenate([answered, rng.choice(answered, answers - from_shops - len(answered)),
                                 rng.choice(shops, from_shops) if from_shops else np.empty(0, np.int64)])
        # given between 02-10 08:00 and 02-16 20:00, stored in that order except the late-loaded twentieth
        given = np.datetime64("2020-02-10T08:00:00") + rng.integers(0, int(6.5 * 86400), answers).astype("timedelta64[s]")
        stored = given + np.where(rng.random(answers) < LATE_SHARE,
                                  rng.integers(3600, 2 * 86400, answers), 0).astype("timedelta64[s]")
        order = np.argsort(stored, kind="stable")
        owners, given = owners[order], given[order]
        collection = create(session, definition, created_by="bench", template=template,
                            template_name="口罩需求登记表.xlsx")
        set_status(collection, OPEN)
        session.flush()
        say(f"  {answers:,} answers of {len(answered):,} enterprises and {from_shops:,} from shops: making them …")
        frame = pd.DataFrame({
            "collection_id": collection.id, "enterprise_id": owners, "period": START,
            "effective_at": pd.Series(given).dt.to_pydatetime(), "answers": answers_json(rng, answers),
            "version": collection.version, "source": np.where(rng.random(answers) < 0.7, "form", "file"),
            "submission_id": np.char.add("bench-", np.arange(answers).astype(str)).astype(object)})
        bulk_insert(session, CollectionAnswer.__table__, frame, progress("answers", len(frame), say))
        ident = collection.id
    say(f"  collection #{ident} with {answers:,} answers in {time.perf_counter() - started:.1f} s")
    return ident


def prepare(url: str, respondents: int, answers: int) -> tuple[Engine, int]:
    from etl.database import init_db, make_engine  # noqa: PLC0415
    from schemas.collection_tables import Collection  # noqa: PLC0415
    from schemas.models import Enterprise  # noqa: PLC0415

    engine = make_engine(url)
    init_db(engine)
    with Session(engine) as session:
        enterprises = session.scalar(select(func.count()).select_from(Enterprise)) or 0
        ident = session.scalar(select(Collection.id).where(Collection.title == TITLE).order_by(Collection.id.desc()))
    if ident is not None:
        say(f"reusing collection #{ident} of {url}")
        built_in_aggregates(engine)
        return engine, ident
    if enterprises:
        say(f"{enterprises:,} enterprises and shops in {url}: adding the collection")
    else:
        build_registry(engine, respondents)
    ident = build_collection(engine, answers)
    if engine.dialect.name == "postgresql":
        say("  ANALYZE (the planner's statistics, as autovacuum gathers them after a load) …")
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    built_in_aggregates(engine)
    return engine, ident


def built_in_aggregates(engine: Engine) -> None:
    """The built-in collections' dashboard aggregates, as `onenet serve` builds them before it starts (the list page
    shows their figures beside the collection's)."""
    from etl.aggregate import EVERY_UNIT, mark_stale, refresh_if_stale  # noqa: PLC0415
    from etl.store import writing  # noqa: PLC0415
    from schemas.aggregates import AggMeta  # noqa: PLC0415

    with writing(engine) as s:
        if s.scalar(select(func.count()).select_from(AggMeta)):
            return
        mark_stale(s, [EVERY_UNIT])
    started = time.perf_counter()
    refresh_if_stale(engine, say)
    say(f"  built-in aggregates built in {time.perf_counter() - started:.1f} s")


# --------------------------------------------------------------------------- timing


class Table:
    """Rows of (what, unit, best, first, median) printed as they come, and again together at the end."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.rows: list[tuple[str, str, str, float, float, float, bool]] = []
        self.baseline: float | None = None

    def time(self, group: str, what: str, unit: str, work: Callable[[], Any], dashboard: bool = False,
             repeat: int | None = None) -> float | None:
        times = []
        try:
            for _ in range(repeat or self.repeat):
                started = time.perf_counter()
                work()
                times.append(time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - a part being written elsewhere must not stop the run
            reason = " ".join(re.sub(r"<[^>]+>", " ", str(exc)).split())[:200]
            say(f"  {what} ({unit}): failed: {type(exc).__name__}: {reason}")
            return None
        row = (group, what, unit, min(times), times[0], statistics.median(times), dashboard)
        self.rows.append(row)
        say(self.line(row))
        return min(times)

    def line(self, row: tuple[str, str, str, float, float, float, bool]) -> str:
        group, what, unit, best, first, median, dashboard = row
        ratio = f"{best / self.baseline:9.1f}" if self.baseline else f"{'':9}"
        verdict = ("under" if best * 1000 <= TARGET_MS else "OVER") if dashboard else ""
        return f"  {group:9} {what:44} {unit:10} {best:8.3f} {first:8.3f} {median:8.3f} {ratio} {verdict:>6}"

    def header(self) -> str:
        return (f"  {'':9} {'':44} {'unit':10} {'best s':>8} {'first s':>8} {'median':>8} {'× base':>9} "
                f"{'≤' + str(TARGET_MS) + 'ms':>6}")


def with_collection(engine: Engine, ident: int, call: Callable[[Session, Any], Any]) -> Callable[[], Any]:
    from schemas.collection_tables import Collection  # noqa: PLC0415

    def run() -> Any:
        with Session(engine) as s:
            return call(s, s.get(Collection, ident))
    return run


def measure_baseline(table: Table, engine: Engine, ident: int) -> None:
    """Distinct respondents answered per street for the period by the end of the day: one GROUP BY."""
    from etl.figures import Day  # noqa: PLC0415
    from schemas.collection_tables import CollectionAnswer  # noqa: PLC0415
    from schemas.models import Enterprise  # noqa: PLC0415

    baseline = (select(Enterprise.street_code, func.count(distinct(CollectionAnswer.enterprise_id)))
                .join(Enterprise, Enterprise.id == CollectionAnswer.enterprise_id)
                .where(CollectionAnswer.collection_id == ident, CollectionAnswer.period == START,
                       CollectionAnswer.effective_at < Day(DAY).end)
                .group_by(Enterprise.street_code))
    say("baseline: " + " ".join(str(baseline.compile(engine)).split()))
    say(table.header())
    table.baseline = table.time("baseline", "GROUP BY street, COUNT(DISTINCT respondent)", "上海市",
                                with_collection(engine, ident, lambda s, c: s.execute(baseline).all()))


def measure_figures(table: Table, engine: Engine, ident: int, units: dict[str, str]) -> None:
    """The figures kept per building and day (etl.collection_summary): built whole (committed: what opening the
    collection or a city-wide file of answers costs), rebuilt for one street (what a QR answer costs; rolled back),
    and the city's status counted live from the answers (the collection marked stale; rolled back)."""
    from etl import collection_summary  # noqa: PLC0415
    from etl.collection_figures import status  # noqa: PLC0415
    from etl.collections import EVERY_STREET, mark_figures_stale  # noqa: PLC0415
    from etl.store import writing  # noqa: PLC0415
    from schemas.collection_tables import Collection  # noqa: PLC0415

    def whole() -> None:
        with writing(engine) as s:
            mark_figures_stale(s, ident, [EVERY_STREET])
            collection_summary.refresh(s)

    def marked(streets: list[str], then: Callable[[Session], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as s:
                mark_figures_stale(s, ident, streets)
                try:
                    return then(s)
                finally:
                    s.rollback()
        return run

    say("  building the collection's figures (collection_figure) …")
    table.time("figures", "collection_summary.refresh (whole collection)", "上海市", whole, repeat=1)
    table.time("figures", "collection_summary.refresh (one street)", units["street"],
               marked([units["street_code"]], collection_summary.refresh))
    table.time("figures", "status(level=city) counted live (no figures)", "上海市",
               marked([EVERY_STREET], lambda s: status(s, s.get(Collection, ident), DAY, "city")))


def measure_etl(table: Table, engine: Engine, ident: int, units: dict[str, str], work: Path,
                export_repeat: int) -> None:
    from etl import collection_figures as cf  # noqa: PLC0415
    from etl.collection_export import export_answers  # noqa: PLC0415
    from schemas.collection_tables import Collection  # noqa: PLC0415

    def timed(what: str, unit: str, call: Callable[[Session, Any], Any], repeat: int | None = None) -> None:
        table.time("etl", what, unit, with_collection(engine, ident, call), repeat=repeat)

    for level in ("city", "district", "street"):
        timed(f"status(level={level})", "上海市", lambda s, c, lv=level: cf.status(s, c, DAY, lv))
    timed("field_summaries(level=district)", "上海市", lambda s, c: cf.field_summaries(s, c, DAY, "district"))
    timed("latest_answers", "上海市", lambda s, c: cf.latest_answers(s, c, DAY))
    timed("missing_respondents", units["street"],
          lambda s, c: cf.missing_respondents(s, c, DAY, {units["street_code"]}))
    exported: dict[bool, tuple[int, int, int]] = {}

    def export(plain: bool) -> Callable[[Session, Any], Any]:
        def run(s: Session, c: Any) -> None:
            if plain:  # the same collection as if it had not come from a template (never added to the session)
                c = Collection(id=c.id, title=c.title, department=c.department, scope_code=c.scope_code,
                               status=c.status, version=c.version, definition=c.definition)
            out = work / ("plain.xlsx" if plain else "template.xlsx")
            result = export_answers(s, c, out, day=DAY)
            exported[plain] = (result.rows, result.expected, out.stat().st_size)
        return run

    for plain in (False, True):
        timed(f"export_answers ({'plain workbook' if plain else 'template filled in'})", "上海市", export(plain),
              repeat=export_repeat)
        if plain in exported:
            rows, expected, size = exported[plain]
            say(f"    {rows:,} rows (of {expected:,} expected), {size / 1e6:.1f} MB")


def measure_queries(table: Table, engine: Engine, ident: int, units: dict[str, str]) -> None:
    """What each callback of dashboard/pages/collection_view.py asks dashboard.queries.collections for."""
    from dashboard import queries as q  # noqa: PLC0415
    from dashboard.queries import collections as qc  # noqa: PLC0415

    def timed(what: str, code: str, call: Callable[[Session, Any, Any], Any]) -> None:
        def run() -> Any:
            with Session(engine) as s:
                divs = q.load_divisions(s)
                q.load_campaign(s)
                reach = qc.find(s, divs, CITY, True, ident, code, DAY)
                assert reach is not None, "the collection is not visible to a city user"
                return call(s, divs, reach)
        table.time("queries", what, units[code], run, dashboard=True)

    for code in (CITY, units["district_code"], units["street_code"]):
        timed("view setup (divisions, campaign, find)", code, lambda s, d, r: None)
        timed("layout: status_row(street_counts)", code,
              lambda s, d, r: qc.status_row(d, r.code, qc.street_counts(s, r, d)))

        def where(s: Session, d: Any, r: Any) -> Any:
            units_ = qc.sub_unit_rows(d, r.code, qc.street_counts(s, r, d))
            if d.level_of(r.code) == "street":
                return qc.building_rows(s, r)
            codes = [u["code"] for u in units_]
            return q.boundaries(s, codes), q.unit_points(s, codes)
        timed("cv-where: counts, sub-units, map data", code, where)
        timed("cv-missing: missing()", code, lambda s, d, r: qc.missing(s, d, r, contacts=False))
        timed("cv-summary: summaries()", code, lambda s, d, r: qc.summaries(s, d, r))
        timed("cv-answers: answers()", code, lambda s, d, r: qc.answers(s, d, r, personal=False))
        timed("list page: listing()", code, lambda s, d, r: qc.listing(s, d, CITY, r.code, DAY, True))


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def measure_callbacks(table: Table, engine: Engine, ident: int, units: dict[str, str], work: Path) -> None:
    """The collection view's callbacks as a browser posts them (Flask's test client, a logged-in city user)."""
    os.environ.setdefault("ONENET_DATA_DIR", str(work))
    from dashboard import app as dashboard_app  # noqa: PLC0415
    from dashboard.auth import create_user  # noqa: PLC0415
    from schemas.models import User  # noqa: PLC0415

    with Session(engine) as s, s.begin():
        if s.scalar(select(User).where(User.username == USER)) is None:
            create_user(s, USER, PASSWORD, "city", CITY, "性能测试", False)
    server = dashboard_app.create_app(engine).server
    client = server.test_client()
    match = CSRF_RE.search(client.get("/login").get_data(as_text=True))
    assert match, "no CSRF token on the login form"
    login = client.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": match.group(1)})
    assert login.status_code == 302, f"login failed: {login.status_code}"
    deps = client.get("/_dash-dependencies").get_json()

    def post(output_has: str, inputs: list[dict[str, Any]], states: list[dict[str, Any]], changed: str,
             outputs: Any = None) -> Callable[[], Any]:
        output = next(d["output"] for d in deps if output_has in d["output"])
        body = {"output": output, "outputs": outputs or {"id": output.rsplit(".", 1)[0],
                                                         "property": output.rsplit(".", 1)[1]},
                "inputs": inputs, "state": states, "changedPropIds": [changed]}

        def run() -> Any:
            resp = client.post("/_dash-update-component", json=body)
            assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:300]
            return resp.get_data()
        return run

    def page(path: str, search: str) -> Callable[[], Any]:
        return post("_pages_content.children",
                    [{"id": "_pages_location", "property": "pathname", "value": path},
                     {"id": "_pages_location", "property": "search", "value": search}], [],
                    "_pages_location.pathname", [{"id": "_pages_content", "property": "children"},
                                                 {"id": "_pages_store", "property": "data"}])

    for code in (CITY, units["district_code"], units["street_code"]):
        search = f"?id={ident}&unit={code}&day={DAY.isoformat()}"
        key = [{"id": "cv-key", "property": "data", "value": search}]
        table.time("callback", "page: /collections/view (layout)", units[code], page("/collections/view", search),
                   dashboard=True)
        for part in ("cv-where", "cv-missing", "cv-summary", "cv-answers-box"):
            table.time("callback", part, units[code], post(f"{part}.children", key, [], "cv-key.data"), dashboard=True)
        table.time("callback", "cv-missing-list (page 2)", units[code],
                   post("cv-missing-list.children", [{"id": "cv-missing-pages", "property": "active_page", "value": 2}],
                        key, "cv-missing-pages.active_page"), dashboard=True)
        table.time("callback", "page: /collections (the list)", units[code],
                   page("/collections", f"?unit={code}&day={DAY.isoformat()}"), dashboard=True)


def pick_units(engine: Engine, ident: int) -> dict[str, str]:
    """The city, the district with most respondents and its street with most: codes and names."""
    from etl.collection_figures import street_status  # noqa: PLC0415
    from etl.divisions import DivisionTree  # noqa: PLC0415
    from schemas.collection_tables import Collection  # noqa: PLC0415

    with Session(engine) as s:
        counts = street_status(s, s.get(Collection, ident), DAY)
        tree = DivisionTree.load(s)
    per_district: dict[str, int] = {}
    for street, c in counts.items():
        district = tree.unit_of(street, "district") or ""
        per_district[district] = per_district.get(district, 0) + c["expected"]
    district = max(per_district, key=lambda d: per_district[d])
    street = max((st for st in counts if tree.unit_of(st, "district") == district), key=lambda st: counts[st]["expected"])
    total = {k: sum(c[k] for c in counts.values()) for k in ("expected", "answered", "on_time")}
    say(f"on {DAY}: {total['expected']:,} expected, {total['answered']:,} answered, {total['on_time']:,} on time; "
        f"{tree.display(district)} {per_district[district]:,} expected, {tree.display(street)} "
        f"{counts[street]['expected']:,}")
    return {CITY: "上海市", district: tree.display(district), street: tree.display(street),
            "district_code": district, "street_code": street, "street": tree.display(street)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--respondents", type=int, default=300_000, help="enterprises of the city (shops on top)")
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--db", help="a database to reuse (one an earlier run built, or any with enterprises)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--export-repeat", type=int, default=1)
    parser.add_argument("--skip", nargs="*", default=[], choices=["etl", "queries", "callbacks"])
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="onenet-collections-bench-"))
    url = args.db or f"sqlite:///{work / 'bench.db'}"
    engine, ident = prepare(url, args.respondents, args.answers)
    with Session(engine) as s:
        answers = s.scalar(text("SELECT count(*) FROM collection_answer WHERE collection_id = :c"), {"c": ident})
    units = pick_units(engine, ident)
    table = Table(args.repeat)
    measure_baseline(table, engine, ident)
    measure_figures(table, engine, ident, units)
    if "etl" not in args.skip:
        measure_etl(table, engine, ident, units, work, args.export_repeat)
    if "queries" not in args.skip:
        measure_queries(table, engine, ident, units)
    if "callbacks" not in args.skip:
        measure_callbacks(table, engine, ident, units, work)

    say(f"\n{url}: collection #{ident}: {answers:,} answers; day {DAY}; best of {args.repeat} "
        f"(export: {args.export_repeat}); × base = best / the GROUP BY's best")
    say(table.header())
    for row in table.rows:
        say(table.line(row))
    dashboard = [r for r in table.rows if r[6]]
    over = [r for r in dashboard if r[3] * 1000 > TARGET_MS]
    worst = max(over, key=lambda r: r[3], default=None)
    say(f"dashboard: {len(dashboard) - len(over)} of {len(dashboard)} timings under {TARGET_MS} ms"
        + (f"; the slowest: {worst[1]} ({worst[2]}) {worst[3]:.2f} s" if worst else ""))
    say(f"reuse the database with --db {url}")


if __name__ == "__main__":
    main()
