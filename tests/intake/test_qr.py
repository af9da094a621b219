"""`onenet qr`: a decodable code per building pointing at its form, the A4 sheet, and the tokens."""
from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import PIL.Image
import pytest
import zxingcpp

from etl.intake import TOKEN_RE, building_token
from tests.fixtures.messy import write_csv
from tests.intake.conftest import World
from tests.fixtures.cli import onenet

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://onenet.example.gov.cn/intake"


def run_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return onenet("--db", db_url, *args)


def test_one_decodable_code_per_building_and_a_printable_sheet(world: World, tmp_path: Path) -> None:
    out = tmp_path / "qr"
    proc = run_cli(world.url, "qr", "--street", "江苏路", "--out", str(out), "--base-url", BASE)
    assert proc.returncode == 0, proc.stderr
    street_buildings = ["华鑫大厦", "江苏路商务楼", "愚园路一号楼"]
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 3
    for name in street_buildings:
        png = next(p for p in pngs if name in p.name)
        decoded = [r.text for r in zxingcpp.read_barcodes(PIL.Image.open(png))]
        assert decoded == [f"{BASE}/q/{world.tokens[name]}"], (name, decoded)
        assert name in proc.stderr  # progress names each building
    sheet = (out / "二维码_江苏路街道.html").read_text(encoding="utf-8")
    for name in street_buildings:
        assert name in sheet and world.tokens[name] in sheet
    assert "长宁区江苏路100号" in sheet and "@page" in sheet and "A4" in sheet
    assert "新华科技楼" not in sheet  # another street's building
    assert sheet.count('class="card"') == 3
    assert not re.search(r'(src|href)="https?://', sheet)  # self-contained: prints offline


def test_unknown_street_and_street_without_buildings_are_clear_errors(world: World, tmp_path: Path) -> None:
    proc = run_cli(world.url, "qr", "--street", "不存在路", "--out", str(tmp_path / "a"))
    assert proc.returncode != 0 and "no street matches" in proc.stderr
    from etl.pipeline import Ingestor  # noqa: PLC0415

    Ingestor(world.engine, log=lambda m: None).ingest([write_csv(tmp_path / "区划.csv", [
        ["区划代码", "区划名称", "级别", "上级区划代码"], ["310105006", "华阳路街道", "街道", "310105"]])])
    proc = run_cli(world.url, "qr", "--street", "华阳路", "--out", str(tmp_path / "b"))
    assert proc.returncode != 0 and "has no buildings" in proc.stderr and "楼宇台账" in proc.stderr
    assert not (tmp_path / "b").exists()


def test_tokens_are_opaque_unguessable_and_tampering_is_404(world: World, app) -> None:  # type: ignore[no-untyped-def]
    tokens = list(world.tokens.values())
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert TOKEN_RE.fullmatch(token)
        assert not any(str(i) == token for i in world.building_ids.values())
    # the token is a MAC under the installation's token key: another installation's token for the same building differs
    assert building_token("310105002", "华鑫大厦", hashlib.sha256(b"another-installation").digest()) != world.tokens["华鑫大厦"]
    client = app.test_client()
    good = world.tokens["华鑫大厦"]
    assert client.get(f"/q/{good}").status_code == 200
    flipped = good[:-1] + ("A" if good[-1] != "A" else "B")
    for bad in (flipped, good[:-1], good + "x", "1", str(world.building_ids["华鑫大厦"]), "../../etc"):
        resp = client.get(f"/q/{bad}")
        assert resp.status_code == 404, bad
        if "/" not in bad:  # others do not reach the intake's routes at all
            assert "二维码无效" in resp.get_data(as_text=True)
    assert client.post(f"/api/intake/{flipped}", json={}).status_code == 404
    assert client.get(f"/api/intake/{good}").get_json()["building"]["name"] == "华鑫大厦"


@pytest.mark.parametrize("street", ["江苏路街道", "310105002"])
def test_street_by_full_name_or_code(world: World, tmp_path: Path, street: str) -> None:
    proc = run_cli(world.url, "qr", "--street", street, "--out", str(tmp_path / "qr"), "--base-url", BASE)
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "qr").glob("*.png"))) == 3
