"""The deterministic demo city: a messy inbox like the one a Shanghai street office receives in
February 2020, and the true figures behind it.

    from etl.democity.generator import generate
    city = generate(Path("data/demo"), seed=7, scale=1.0)
    city.inbox, city.files, city.dates, city.truth

``scale`` multiplies every count (buildings, enterprises, shops, returning staff, bad rows); the
hierarchy (16 districts, 215 streets and towns, 2–4 communities each) is the real one at any
scale.  The same seed and scale give byte-identical files and the same truth.
"""
from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


from etl.democity import geo, truth as truth_mod, world
from etl.democity.inbox import InboxWriter
from etl.democity.world import CAMPAIGN_DAYS, FIRM, INDIVIDUAL, SHOP, day_to_date

TRUTH_FILE = "truth.json"
INBOX_DIR = "inbox"


@dataclass
class DemoCity:
    inbox: Path
    files: list[Path]
    dates: list[date]
    truth: dict
    logins: dict = field(default_factory=dict)


def generate(out_dir: Path, seed: int = 7, scale: float = 1.0,
             progress: Callable[[str], None] | None = None) -> DemoCity:
    """Write the demo inbox under ``out_dir/inbox`` and ``out_dir/truth.json``; return both."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    say = progress or (lambda msg: None)
    started = time.monotonic()
    out_dir = Path(out_dir)
    inbox = out_dir / INBOX_DIR
    if inbox.exists():
        if any(inbox.iterdir()) and not (out_dir / TRUTH_FILE).exists():
            raise FileExistsError(f"{inbox} exists and was not made by the demo generator; choose another folder")
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)

    say("读取区界 / loading district boundaries")
    polygons = geo.load_districts(wait_seconds=120)
    say("生成城市 / building the city")
    w = world.build(seed, scale, polygons)
    say(f"{w.b['n']} buildings, {int((w.e['kind'] != SHOP).sum())} enterprises, "
        f"{int((w.e['kind'] == SHOP).sum())} shops, {w.p['n']} returning staff, {w.r['n']} reports")
    writer = InboxWriter(w, inbox, say)
    records = writer.write_all()
    say("计算真值 / computing the truth")
    truth = build_truth(w, records)
    (out_dir / TRUTH_FILE).write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    cells = geo.cells_geojson(w.cells, dict(zip(w.streets["code"], w.streets["name"])),
                              dict(zip(w.streets["code"], w.streets["parent"])))
    (out_dir / "demo_street_cells.geojson").write_text(json.dumps(cells, ensure_ascii=False), encoding="utf-8")
    files = sorted(p for p in inbox.iterdir() if p.is_file())
    say(f"完成 / done: {len(files)} files in {time.monotonic() - started:.1f} s")
    return DemoCity(inbox=inbox, files=files, dates=[day_to_date(d) for d in range(CAMPAIGN_DAYS)], truth=truth)


def build_truth(w: world.World, records: list) -> dict:
    e, r, p = w.e, w.r, w.p
    rejects, warnings = Counter(), Counter()
    for rec in records:
        rejects.update(rec.rejected)
        warnings.update(rec.warned)
    figures = {truth_mod.date_of(d).isoformat(): truth_mod.figures_for(w, d) for d in truth_mod.figure_days()}
    valid_reports = int((r["bad"] == 0).sum())
    return {
        "seed": w.seed,
        "scale": w.scale,
        "campaign_dates": [day_to_date(d).isoformat() for d in range(CAMPAIGN_DAYS)],
        "figure_dates": list(figures),
        "figures": figures,
        "rejects_expected": dict(sorted(rejects.items())),
        "warnings_expected": dict(sorted(warnings.items())),
        "corrupt_files": [rec.path.name for rec in records if rec.kind == "corrupt"],
        "counts": {
            "districts": len(w.districts),
            "streets": w.n_streets,
            "communities": len(w.communities),
            "buildings": int(w.b["n"]),
            "enterprises": int((e["kind"] != SHOP).sum()),
            "firms": int((e["kind"] == FIRM).sum()),
            "individual_businesses": int((e["kind"] == INDIVIDUAL).sum()),
            "shops": int((e["kind"] == SHOP).sum()),
            "enterprises_without_uscc": int(((e["uscc"] == "") & (e["kind"] != SHOP)).sum()),
            "shops_without_uscc": int(((e["uscc"] == "") & (e["kind"] == SHOP)).sum()),
            "returning_staff": int(p["n"]),
            "reports_valid": valid_reports,
            "reports_bad": int(r["n"] - valid_reports),
            "reports_via_qr": int(r["qr"].sum()),
            "reports_via_qr_also_typed_in_sheets": int(r["copy"].sum()),
            "staff_in_two_files": int(p["dup"][: p["n"]].sum()),
            "staff_with_15_digit_ids": int((p["old15"][: p["n"]] | (p["dup"][: p["n"]] & p["dup_old15"][: p["n"]])).sum()),
            "files": len(records),
        },
        "street_short_names_not_unique": sorted(
            set(w.streets.loc[~w.streets["short_ok"] & (w.streets["core"] != w.streets["name"]), "core"])
            & set(w.streets["core"][w.streets["core"].duplicated(keep=False)])),
        "files": [rec.as_dict() for rec in sorted(records, key=lambda x: x.path.name)],
        "semantics": truth_mod.__doc__.strip(),
    }
