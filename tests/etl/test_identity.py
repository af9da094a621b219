"""Resident IDs leave normalisation masked and hashed."""
from __future__ import annotations

import hmac

import pandas as pd

from etl import identity
from etl.identity import hmac_digests
from tests.fixtures.messy import make_id

SECRET = b"test-secret-not-for-production"
IDS = [make_id("310105", f"1985{m:02d}12", f"{m:03d}") for m in range(1, 13)]


def test_hmac_digests_equal_the_standard_library() -> None:
    digests = hmac_digests("".join(IDS).encode(), 18, SECRET)
    assert [digests[i : i + 32] for i in range(0, len(digests), 32)] == [
        hmac.digest(SECRET, i.encode(), "sha256") for i in IDS]
    long_key = b"k" * 100  # RFC 2104: a key longer than the block is hashed first
    assert hmac_digests(IDS[0].encode(), 18, long_key) == hmac.digest(long_key, IDS[0].encode(), "sha256")


def _column() -> pd.Series:
    bad = IDS[0][:17] + ("0" if IDS[0][17] != "0" else "1")
    return pd.Series([IDS[0], " " + IDS[1].lower() + " ", bad, None, IDS[0][:6] + IDS[0][8:17]], index=[10, 11, 12, 13, 14])


def test_identity_keeps_no_raw_number() -> None:
    got = identity.identify(_column(), SECRET)
    assert got.masked.tolist()[:2] == [IDS[0][:6] + "********" + IDS[0][-4:], IDS[1][:6] + "********" + IDS[1][-4:]]
    assert got.id_hash[10] == hmac.digest(SECRET, IDS[0].encode(), "sha256")
    assert got.id_hash[11] == hmac.digest(SECRET, IDS[1].upper().encode(), "sha256")
    assert got.errors[12] == "id_checksum" and pd.isna(got.id_hash[12]) and pd.isna(got.person_key[12])
    assert pd.isna(got.errors[13]) and pd.isna(got.masked[13])
    assert got.id_hash[14] == hmac.digest(SECRET, IDS[0].encode(), "sha256"), "15-digit ID converted to 18"
    assert got.person_key[10] == int.from_bytes(got.id_hash[10][:8], "big", signed=True)
    assert got.person_key[14] == got.person_key[10]
