"""Resident ID numbers → what is kept of them: a keyed hash (the identity) and a masked form.

The raw number never leaves this step.  Normalisation replaces the ID column by its masked form and
adds the hash, so loading, rejects and logs downstream never hold it.

Hashing is a Python loop (about 1.7 s for a million IDs).  For a big column it runs in two child
processes (etl/idhash.py, standard library only, fed through a pipe) while this process checks the
IDs and parses the other columns.  A plain subprocess rather than multiprocessing: it starts in
milliseconds, inherits no database connection, asks nothing of the caller's script and ends with
its input.
"""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from etl.idhash import HEADER, hmac_digests
from etl.normalise import char_matrix, ids_as_stored, parse_id_number

PARALLEL_MIN_ROWS = 200_000
"""Smaller columns are hashed in this process: starting a child would cost more than it saves."""
ID_WIDTH = 18
_CHILD = Path(__file__).with_name("idhash.py")
_pipes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="idhash")  # feed the children; the GIL is free meanwhile


@dataclass
class Identity:
    masked: pd.Series  # 310105********1234 where the ID is valid, else missing
    errors: pd.Series  # error code per row, None where fine
    id_hash: pd.Series  # HMAC-SHA256 (32 bytes, Arrow fixed-size binary) where valid, else missing
    person_key: pd.Series  # first 8 bytes of the hash as a signed int (Int64), missing where invalid


def _arrow_series(array: pa.Array, index: pd.Index) -> pd.Series:
    if pa.types.is_string(array.type):
        return pd.Series(pd.arrays.ArrowStringArray(array), index=index, dtype="string[pyarrow]")
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=index)


def _fixed_width(kind: pa.DataType, width: int, rows: np.ndarray, valid: np.ndarray) -> pa.Array:
    """An Arrow array of ``width``-byte values, one per row of the (n, width) byte matrix ``rows``, missing
    where not ``valid``."""
    nulls = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    if pa.types.is_fixed_size_binary(kind):
        return pa.Array.from_buffers(kind, len(valid), [nulls, pa.py_buffer(rows.tobytes())])
    offsets = np.arange(0, width * (len(valid) + 1), width, dtype=np.int32)
    return pa.Array.from_buffers(kind, len(valid), [nulls, pa.py_buffer(offsets), pa.py_buffer(rows.tobytes())])


def _hash_in_child(ids: bytes, count: int, secret: bytes) -> bytes:
    child = subprocess.run([sys.executable, "-I", str(_CHILD)], input=HEADER.pack(len(secret), ID_WIDTH, count) + secret + ids,
                           capture_output=True, check=False)
    if child.returncode != 0 or len(child.stdout) != 32 * count:
        raise RuntimeError(f"ID hashing process failed ({child.returncode}): {child.stderr.decode(errors='replace')[-500:]}")
    return child.stdout


def _start_hashing(ids: pd.Series, secret: bytes) -> list[Future[bytes]]:
    """Digests of IDs as stored, in order: in two child processes for a big column, else here."""
    packed = char_matrix(ids, ID_WIDTH).tobytes()
    if len(ids) < PARALLEL_MIN_ROWS:
        done: Future[bytes] = Future()
        done.set_result(hmac_digests(packed, ID_WIDTH, secret))
        return [done]
    half = len(ids) // 2 * ID_WIDTH
    return [_pipes.submit(_hash_in_child, part, len(part) // ID_WIDTH, secret) for part in (packed[:half], packed[half:])]


class PendingIdentity:
    """Parsed IDs whose hashes are being computed (in child processes for a big column).

    Hashing starts before the check: cells already written as stored are hashed while this process
    parses and checks the column (and the others); the digests of those that fail the check are
    dropped, and the few IDs that parsing rewrote (15 digits, spaces, full-width) are hashed after.
    """

    def __init__(self, raw: pd.Series, secret: bytes) -> None:
        self.secret = secret
        self.early = ids_as_stored(raw)
        self.digests = _start_hashing(raw[self.early], secret)
        self.parsed = parse_id_number(raw, self.early)
        self.valid = self.parsed.values.notna().to_numpy()
        self.raw = raw

    def _digest_matrix(self) -> np.ndarray:
        """(rows, 32) digests, zeros where the ID is not valid."""
        values = self.parsed.values
        kept = self.early & self.valid
        if kept.any():
            kept[kept] = (values[kept] == self.raw[kept]).fillna(False).to_numpy(dtype=bool)
        matrix = np.zeros((len(values), 32), dtype=np.uint8)
        early = np.frombuffer(b"".join(f.result() for f in self.digests), dtype=np.uint8).reshape(-1, 32)
        matrix[self.early & self.valid] = early[self.valid[self.early]]
        late = self.valid & ~kept
        if late.any():
            matrix[late] = np.frombuffer(b"".join(f.result() for f in _start_hashing(values[late], self.secret)),
                                         dtype=np.uint8).reshape(-1, 32)
        return matrix

    def result(self) -> Identity:
        """The hashes as an Arrow column of 32-byte values (no Python object per row), keys, masked IDs."""
        index = self.parsed.values.index
        matrix = self._digest_matrix()
        ids = np.zeros((len(index), ID_WIDTH), dtype=np.uint8)
        ids[self.valid] = char_matrix(self.parsed.values[self.valid], ID_WIDTH)
        ids[:, 6:14] = ord("*")
        first8 = matrix[:, :8].copy().view(">i8").ravel().astype(np.int64)
        keys = pd.Series(pd.arrays.IntegerArray(first8, ~self.valid), index=index)
        return Identity(_arrow_series(_fixed_width(pa.string(), ID_WIDTH, ids, self.valid), index), self.parsed.errors,
                        _arrow_series(_fixed_width(pa.binary(32), 32, matrix, self.valid), index), keys)


def identify(raw: pd.Series, secret: bytes) -> Identity:
    return PendingIdentity(raw, secret).result()
