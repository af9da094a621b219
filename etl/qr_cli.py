"""`onenet qr --street NAME --out DIR [--base-url URL]`: a QR code per building of a street (issue 5);
`onenet qr --street NAME --revoke BUILDING [--out DIR]`: a new code for one building, the old one refused.

Writes one PNG per building and one printable A4 sheet (``二维码_<street>.html``: building name,
address, the code and a short reference, six to a page; open it in a browser and print).  Each code
holds ``<base url>/q/<token>``, the token being the building's signed opaque token (etl.intake).
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from etl.export_cli import NothingToDo, exit_on_bad_input, resolve_unit
from schemas.models import Building, Division


class NoBuildings(NothingToDo):
    """A street without registered buildings: there is nothing to print a code for."""


@dataclass
class Poster:
    name: str
    address: str | None
    url: str
    token: str
    png: Path


def qr_png(url: str) -> bytes:
    """A QR code that survives a printed poster: error correction Q, a 4-module quiet zone."""
    import qrcode  # noqa: PLC0415
    from qrcode.constants import ERROR_CORRECT_Q  # noqa: PLC0415

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def safe_file_name(name: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("_")[:60] or "building"


def street_buildings(session: Session, street: str) -> tuple[Division, list[Building]]:
    """The street named (code, full or short name, as elsewhere in the CLI) and its buildings.

    Raises ``UnknownDivision`` for a name that matches no single street, ``NoBuildings`` for a street without any.
    """
    code = resolve_unit(session, street, "street")
    division = session.get(Division, code)
    buildings = session.scalars(select(Building).where(Building.street_code == code).order_by(Building.name)).all()
    if not buildings:
        raise NoBuildings(f"street {division.name} ({code}) has no buildings yet: "
                          "load its building registry (楼宇台账) with `onenet ingest` first")
    return division, list(buildings)


def write_posters(session: Session, street: str, out: Path, base_url: str, log=print) -> tuple[Division, list[Poster], Path]:  # type: ignore[no-untyped-def]
    from etl.intake import building_token, intake_url, token_key  # noqa: PLC0415 - commands start without the intake's imports
    division, buildings = street_buildings(session, street)
    out.mkdir(parents=True, exist_ok=True)
    key = token_key()
    posters = []
    width = len(str(len(buildings)))
    for i, b in enumerate(buildings, start=1):
        token = building_token(b.street_code, b.name_key, key, b.token_generation or 0)
        url = intake_url(base_url, token)
        png = out / f"{i:0{width}d}_{safe_file_name(b.name)}.png"
        png.write_bytes(qr_png(url))
        posters.append(Poster(b.name, b.address, url, token, png))
        log(f"  [{i}/{len(buildings)}] {b.name} → {png.name}")
    sheet = out / f"二维码_{safe_file_name(division.name)}.html"
    sheet.write_text(render_sheet(division, posters), encoding="utf-8")
    return division, posters, sheet


SHEET_CSS = """
@page { size: A4 portrait; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; color: #111; }
.head { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 1px solid #999;
        padding: 0 2mm 2mm; margin-bottom: 3mm; font-size: 10pt; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm; }
.card { border: 1px dashed #888; border-radius: 3mm; padding: 4mm; height: 86mm; display: flex; flex-direction: column;
        align-items: center; text-align: center; break-inside: avoid; page-break-inside: avoid; }
.card .title { font-size: 11pt; font-weight: bold; color: #1f5fbf; }
.card img { width: 48mm; height: 48mm; image-rendering: pixelated; margin: 2mm 0; }
.card .name { font-size: 14pt; font-weight: bold; line-height: 1.25; word-break: break-all; }
.card .addr { font-size: 9pt; color: #444; margin-top: 1mm; }
.card .code { font-family: Consolas, Menlo, monospace; font-size: 7.5pt; color: #666; margin-top: auto; word-break: break-all; }
.page-break { break-after: page; page-break-after: always; }
@media screen { body { max-width: 190mm; margin: 8mm auto; } }
"""
PER_PAGE = 6


def render_sheet(division: Division, posters: list[Poster]) -> str:
    """The A4 sheet: six cards a page, each self-contained (the PNG inlined), with print CSS."""
    pages = [posters[i:i + PER_PAGE] for i in range(0, len(posters), PER_PAGE)]
    parts = []
    for n, page in enumerate(pages, start=1):
        cards = "\n".join(_card(p) for p in page)
        parts.append(f'<section class="{"page-break" if n < len(pages) else ""}">'
                     f'<div class="head"><span>{html.escape(division.name)} · 楼宇扫码填报二维码</span>'
                     f'<span>第 {n}/{len(pages)} 页 · 共 {len(posters)} 栋楼宇</span></div>'
                     f'<div class="grid">{cards}</div></section>')
    return ("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(division.name)} 楼宇二维码</title><style>{SHEET_CSS}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _card(p: Poster) -> str:
    data = base64.b64encode(p.png.read_bytes()).decode()
    return (f'<div class="card"><div class="title">企业复工 · 返岗人员 扫码填报</div>'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(p.name)} 填报二维码">'
            f'<div class="name">{html.escape(p.name)}</div>'
            f'<div class="addr">{html.escape(p.address or "")}</div>'
            f'<div class="code">楼宇码 {html.escape(p.token)}<br>{html.escape(p.url)}</div></div>')


def configured_public_url() -> str | None:
    """The server's public address as configured ($ONENET_PUBLIC_URL), never one a request claims."""
    url = (os.environ.get("ONENET_PUBLIC_URL") or "").strip().rstrip("/")
    return url if re.match(r"https?://[^/\s]+", url) else None


NOT_CONFIGURED = ("未配置服务器的公网地址（ONENET_PUBLIC_URL）：无法确定二维码应指向的地址，不予打印。"
                  "请管理员设置 ONENET_PUBLIC_URL 后重试，或用命令 onenet qr --base-url 生成")


class NoSuchBuilding(NothingToDo):
    """The building named for revocation is not one of the street's."""


def revoke(session: Session, street: str, building: str) -> tuple[Building, str]:
    """Revoke the QR code of the street's building named (name as registered); returns it and its new token."""
    from etl.intake import revoke_building_token  # noqa: PLC0415 - commands start without the intake's imports
    from etl.text import name_key  # noqa: PLC0415
    division, buildings = street_buildings(session, street)
    found = next((b for b in buildings if b.name_key == name_key(building)), None)
    if found is None:
        raise NoSuchBuilding(f"street {division.name} has no building {building!r}: "
                             "give its name as in the building registry (楼宇台账)")
    return found, revoke_building_token(session, found.id)


@exit_on_bad_input
def cmd_qr(args: argparse.Namespace) -> int:
    from etl.store import writing  # noqa: PLC0415 - commands start without the intake's imports
    from etl.intake import IntakeSettings, intake_url  # noqa: PLC0415 - commands start without the intake's imports
    from etl.cli import engine_from_args  # noqa: PLC0415

    base_url = (args.base_url or IntakeSettings.from_env().public_url).rstrip("/")
    if not re.match(r"https?://[^/\s]+", base_url):
        raise SystemExit(f"onenet: --base-url must be an http(s) address, got {base_url!r}")
    if args.revoke:
        with writing(engine_from_args(args)) as session:
            building, token = revoke(session, args.street, args.revoke)
            name, generation = building.name, building.token_generation
        print(f"revoked the QR code of {name} (now generation {generation}): its old code is refused from now on;\n"
              f"new code: {intake_url(base_url, token)}")
        if not args.out:
            print("print the new code with `onenet qr --street ... --out DIR`", file=sys.stderr)
            return 0
    elif not args.out:
        raise SystemExit("onenet: qr needs --out DIR (or --revoke BUILDING)")
    out = Path(args.out)
    with Session(engine_from_args(args)) as session:
        division, buildings = street_buildings(session, args.street)
        print(f"writing {len(buildings)} QR codes of {division.name} ({division.code}) to {out}", file=sys.stderr)
        division, posters, sheet = write_posters(session, args.street, out, base_url,
                                                 log=lambda m: print(m, file=sys.stderr))
    print(f"{len(posters)} QR codes of {division.name} written to {out}; print {sheet} (A4)")
    if re.match(r"https?://(localhost|127\.|0\.0\.0\.0)", base_url):
        print(f"note: the codes point at {base_url}, which phones cannot reach; "
              "pass --base-url (or set ONENET_PUBLIC_URL) to the server's public address", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("qr", help="printable QR codes for the intake form, one per building of a street")
    p.add_argument("--street", required=True, help="street name (江苏路 or 江苏路街道) or code")
    p.add_argument("--out", help="folder for the PNGs and the A4 sheet")
    p.add_argument("--revoke", metavar="BUILDING",
                   help="refuse the building's current code from now on (a lost or abused poster) and issue a new one")
    p.add_argument("--base-url", help="public address of the server (default: $ONENET_PUBLIC_URL, else http://localhost:8050)")
    p.set_defaults(func=cmd_qr)
