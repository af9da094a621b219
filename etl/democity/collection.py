"""The demo's collection (信息收集): a district office's 口罩需求登记表 launched from its Excel template over 长宁区,
and a filled copy sent back by most of its enterprises, loaded as answers (docs/collections.md). So that the
dashboard's 信息收集 page, the missing list and the export have something real to show on a fresh machine."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from etl.collection_intake import load_answers
from etl.collection_template import definition_from_template
from etl.collections import create, set_status
from schemas.collections import OPEN
from schemas.models import CONFIRMED, Enterprise
from schemas.sources import SHOP_KIND

DISTRICT = "310105"
TITLE = "长宁区企业口罩需求登记表"
HEADERS = ["序号", "企业名称", "统一社会信用代码", "需求数量(只)", "联系人", "联系电话", "是否已复工", "填报时间"]
START, END = date(2020, 2, 20), date(2020, 2, 28)
ANSWERING = 0.7
"""Share of the district's enterprises that send the sheet back (the rest are the missing list)."""


def write_template(path: Path) -> Path:
    """The blank form as the district office sends it: a merged title, a note, a styled header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "口罩需求"
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(["填报说明：请各企业于 2 月 28 日前填报；需求数量以只为单位。"])
    ws.append(HEADERS)
    thin = Side(style="thin")
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for letter, width in zip("ABCDEFGH", (6, 30, 22, 12, 10, 14, 10, 18)):
        ws.column_dimensions[letter].width = width
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_answers(engine: Engine, path: Path, seed: int) -> Path:
    """The filled copy: most enterprises of the district, some after the deadline."""
    rng = random.Random(seed)
    with Session(engine) as session:
        enterprises = session.execute(
            select(Enterprise.name, Enterprise.uscc).where(Enterprise.street_code.like(f"{DISTRICT}%"),
                                                          Enterprise.kind != SHOP_KIND, Enterprise.status == CONFIRMED)
            .order_by(Enterprise.id)).all()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([TITLE])
    ws.append(HEADERS)
    n = 0
    for name, uscc in enterprises:
        if rng.random() > ANSWERING:
            continue
        n += 1
        at = datetime.combine(START + timedelta(days=rng.randrange((END - START).days + 2)), time(9 + rng.randrange(9)))
        ws.append([n, name, uscc, rng.choice((50, 100, 200, 500, 1000)), rng.choice("张王李赵刘陈") + "经理",
                   f"139{rng.randrange(10**8):08d}", rng.choice(("是", "是", "否")), at.strftime("%Y-%m-%d %H:%M")])
    wb.save(path)
    return path


def launch(engine: Engine, folder: Path, seed: int) -> str:
    """Create and open the collection from its template, load the filled copy; a line saying what was done."""
    template = write_template(folder / f"{TITLE}.xlsx")
    definition, _ = definition_from_template(template, template.name, DISTRICT, department="长宁区经委",
                                             start=START, end=END)
    with Session(engine) as session, session.begin():
        collection = create(session, definition, created_by="onenet demo", template=template.read_bytes(),
                            template_name=template.name)
        set_status(collection, OPEN)
        collection_id = collection.id
    result = load_answers(engine, collection_id, write_answers(engine, folder / f"{TITLE}_回收.xlsx", seed))
    return (f"collection #{collection_id} {TITLE}: {result.inserted:,} answers loaded from {Path(result.file).name}"
            f" (onenet collections status {collection_id})")
