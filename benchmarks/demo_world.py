"""The demo city's world (etl.democity.world) at benchmark size, bulk-inserted instead of generated as files and
ingested: what benchmarks/bench_fill.py and benchmarks/bench_collections.py build their databases from."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table
from sqlalchemy.orm import Session

ENTERPRISES_AT_SCALE_1 = 6_000
"""Enterprises (shops not counted) of the demo world at scale 1."""
Frames = list[tuple[str, Table, Callable[[], pd.DataFrame]]]
"""(what, table, the frame to insert, made when its turn comes)."""


def make_world(enterprises: int, say: Callable[[str], None], story: bool = False) -> Any:
    """The world at the scale giving ``enterprises`` enterprises (seed 7); with ``story``, its reports too."""
    from etl.democity import geo, world  # noqa: PLC0415

    scale = enterprises / ENTERPRISES_AT_SCALE_1
    started = time.perf_counter()
    say(f"the demo city's world at scale {scale:g} …")
    w = world.World(seed=7, scale=scale)
    world.load_hierarchy(w)
    world.make_buildings(w, geo.load_districts(wait_seconds=120))
    world.make_enterprises(w)
    if story:
        world.make_story(w)
    shops = int((w.e["kind"] == world.SHOP).sum())
    reports = f", {w.r['n']:,} reports" if story else ""
    say(f"  world: {len(w.streets)} streets, {w.b['n']:,} buildings, {w.e['n'] - shops:,} enterprises, {shops:,} shops"
        f"{reports} ({time.perf_counter() - started:.1f} s)")
    return w


def sources(fields: list[str], sheet: str, rows: range) -> list[str]:
    """Each row's provenance as ingest records it (etl.store.merge_sources): field → [batch, sheet, row]."""
    return ["{" + ", ".join(f'"{f}": [1, "{sheet}", {r}]' for f in fields) + "}" for r in rows]


def registry_frames(w: Any) -> Frames:
    """Streets, communities, buildings, enterprises and shops of the world, as their registries would load them
    (batch 1)."""
    from etl.democity import world  # noqa: PLC0415
    from etl.text import map_unique, name_key  # noqa: PLC0415
    from schemas.models import Building, Division, Enterprise  # noqa: PLC0415

    s, c, b, e = w.streets, w.communities, w.b, w.e

    def streets() -> pd.DataFrame:
        return pd.DataFrame({"code": s["code"], "name": s["name"], "level": "street", "parent_code": s["parent"]})

    def communities() -> pd.DataFrame:
        return pd.DataFrame({"code": c["code"], "name": c["name"], "level": "community",
                             "parent_code": s["code"].to_numpy()[c["street_idx"].to_numpy()]})

    def buildings() -> pd.DataFrame:
        fields = ["name", "address", "community", "lng", "lat", "owner", "owner_contact", "owner_phone", "building_type"]
        return pd.DataFrame({
            "id": np.arange(1, b["n"] + 1), "street_code": s["code"].to_numpy()[b["street"]], "name": b["name"],
            "name_key": pd.Series(b["name"]).pipe(map_unique, name_key), "address": b["address"],
            "community_code": c["code"].to_numpy()[b["community"]], "community_name": c["name"].to_numpy()[b["community"]],
            "lng": b["lng"], "lat": b["lat"], "owner": b["owner"], "owner_contact": b["contact"],
            "owner_phone": np.where(b["use_landline"], np.char.add("021-", b["landline"].astype(str)), b["mobile"].astype(str)),
            "building_type": b["type"], "from_registry": True, "sources": sources(fields, "楼宇台账", range(3, b["n"] + 3)),
        })

    def enterprises() -> pd.DataFrame:
        fields = ["enterprise_name", "uscc", "kind", "industry", "staff_total", "address", "building", "street"]
        return pd.DataFrame({
            "id": np.arange(1, e["n"] + 1), "uscc": np.where(e["uscc"] == "", None, e["uscc"]), "name": e["name"],
            "name_key": pd.Series(e["name"]).pipe(map_unique, name_key), "street_code": s["code"].to_numpy()[e["street"]],
            "building_id": pd.Series(e["building"] + 1).where(e["building"] >= 0).astype("Int64"), "address": e["address"],
            "industry": e["industry"], "staff_total": e["staff_reg"], "kind": np.array(world.KIND_NAMES)[e["kind"]],
            "from_registry": True, "status": "confirmed", "sources": sources(fields, "企业名录", range(3, e["n"] + 3)),
        })

    return [("streets", Division.__table__, streets), ("communities", Division.__table__, communities),
            ("buildings", Building.__table__, buildings), ("enterprises and shops", Enterprise.__table__, enterprises)]


def insert_frames(session: Session, frames: Frames, say: Callable[[str], None], *, file_name: str, kind: str,
                  rows: int) -> None:
    """Import batch 1 (the one the frames' provenance names) and the frames, in the session's transaction, with
    progress."""
    from etl.store import bulk_insert  # noqa: PLC0415
    from schemas.models import ImportBatch  # noqa: PLC0415

    session.add(ImportBatch(id=1, file_name=file_name, file_path="", sha256="0" * 64, kind=kind, status="loaded",
                            rows=rows, started_at=datetime.now(), finished_at=datetime.now()))
    session.flush()
    for name, table, make in frames:
        step = time.perf_counter()
        say(f"  {name}: preparing …")
        frame = make()
        bulk_insert(session, table, frame, progress(name, len(frame), say))
        say(f"  {name}: {len(frame):,} rows in {time.perf_counter() - step:.1f} s")


def progress(name: str, total: int, say: Callable[[str], None]) -> Callable[[int], None]:
    """A bulk insert's progress, said about every fifth of the way."""
    done = 0
    every = max(total // 5, 1)

    def report(rows: int) -> None:
        nonlocal done
        before, done = done, done + rows
        if before // every != done // every and done < total:
            say(f"    {name}: {done:,} / {total:,}")
    return report
