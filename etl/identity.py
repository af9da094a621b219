"""Resident ID numbers → what is kept of them: a keyed hash (the identity) and a masked form.

The raw number never leaves this step.  Normalisation replaces the ID column by its masked form and
adds the hash, so loading, rejects and logs downstream never hold it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from etl.masking import ID_HEAD, ID_TAIL
from etl.normalise import char_matrix, parse_id_number

ID_WIDTH = 18
DIGEST_WIDTH = 32


@dataclass
class Identity:
    masked: pd.Series  # 310105********1234 where the ID is valid, else missing
    errors: pd.Series  # error code per row, None where fine
    id_hash: pd.Series  # HMAC-SHA256 (32 bytes, Arrow fixed-size binary) where valid, else missing
    person_key: pd.Series  # first 8 bytes of the hash as a signed int (Int64), missing where invalid


def hmac_digests(ids: bytes, width: int, secret: bytes) -> bytes:
    """HMAC-SHA256 of each ``width``-byte ID in ``ids``, concatenated (RFC 2104, key pads hashed once).

    Equal to ``hmac.digest(secret, id, "sha256")`` per ID; reusing the padded-key states is 2.5x
    faster than building an HMAC context per ID (about 1.7 s for a million IDs).
    """
    block = (hashlib.sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block)).copy
    digests = []
    append = digests.append
    for start in range(0, len(ids), width):
        i = inner()
        i.update(ids[start : start + width])
        o = outer()
        o.update(i.digest())
        append(o.digest())
    return b"".join(digests)


def _arrow_series(array: pa.Array, index: pd.Index) -> pd.Series:
    if pa.types.is_string(array.type):
        return pd.Series(pd.arrays.ArrowStringArray(array), index=index, dtype="string[pyarrow]")
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=index)


def _fixed_width(kind: pa.DataType, width: int, rows: np.ndarray, valid: np.ndarray) -> pa.Array:
    """An Arrow array of ``width``-byte values, one per row of the (n, width) byte matrix ``rows``, missing
    where not ``valid`` (no Python object per row)."""
    nulls = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    if pa.types.is_fixed_size_binary(kind):
        return pa.Array.from_buffers(kind, len(valid), [nulls, pa.py_buffer(rows.tobytes())])
    offsets = np.arange(0, width * (len(valid) + 1), width, dtype=np.int32)
    return pa.Array.from_buffers(kind, len(valid), [nulls, pa.py_buffer(offsets), pa.py_buffer(rows.tobytes())])


def identify(raw: pd.Series, secret: bytes) -> Identity:
    """Check a column of resident IDs; the valid ones become a hash, a person key and a masked form."""
    parsed = parse_id_number(raw)
    index = parsed.values.index
    valid = parsed.values.notna().to_numpy()
    ids = np.zeros((len(index), ID_WIDTH), dtype=np.uint8)
    digests = np.zeros((len(index), DIGEST_WIDTH), dtype=np.uint8)
    if valid.any():
        ids[valid] = char_matrix(parsed.values[valid], ID_WIDTH)
        digests[valid] = np.frombuffer(hmac_digests(ids[valid].tobytes(), ID_WIDTH, secret),
                                       dtype=np.uint8).reshape(-1, DIGEST_WIDTH)
    ids[:, ID_HEAD:ID_WIDTH - ID_TAIL] = ord("*")
    first8 = digests[:, :8].copy().view(">i8").ravel().astype(np.int64)
    keys = pd.Series(pd.arrays.IntegerArray(first8, ~valid), index=index)
    return Identity(_arrow_series(_fixed_width(pa.string(), ID_WIDTH, ids, valid), index), parsed.errors,
                    _arrow_series(_fixed_width(pa.binary(DIGEST_WIDTH), DIGEST_WIDTH, digests, valid), index), keys)
