"""Resident ID numbers → what is kept of them: a keyed hash (the identity) and a masked form.

The raw number never leaves this step.  Normalisation replaces the ID column by its masked form and
adds the hash, so loading, rejects and logs downstream never hold it.

Hashing is a Python loop (about 1.7 s for a million IDs).  For a big column it runs in a child
process (etl/idhash.py, standard library only, fed through a pipe) while this process parses the
other columns.  A plain subprocess rather than multiprocessing: it starts in milliseconds, inherits
no database connection, asks nothing of the caller's script and ends with its input.
"""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etl.idhash import HEADER, hmac_digests
from etl.normalise import parse_id_number

PARALLEL_MIN_ROWS = 100_000
"""Smaller columns are hashed in this process: starting a child would cost more than it saves."""
ID_WIDTH = 18
_CHILD = Path(__file__).with_name("idhash.py")
_pipes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="idhash")  # feeds the child; the GIL is free meanwhile


@dataclass
class Identity:
    masked: pd.Series  # 310105********1234 where the ID is valid, else missing
    errors: pd.Series  # error code per row, None where fine
    id_hash: pd.Series  # HMAC-SHA256 (32 bytes) where valid, else None
    person_key: pd.Series  # first 8 bytes of the hash as a signed int (Int64), missing where invalid


def mask_ids(ids: pd.Series) -> pd.Series:
    return ids.str.slice(0, 6) + "********" + ids.str.slice(14, 18)


def _hash_in_child(ids: bytes, count: int, secret: bytes) -> bytes:
    child = subprocess.run([sys.executable, "-I", str(_CHILD)], input=HEADER.pack(len(secret), ID_WIDTH, count) + secret + ids,
                           capture_output=True, check=False)
    if child.returncode != 0 or len(child.stdout) != 32 * count:
        raise RuntimeError(f"ID hashing process failed ({child.returncode}): {child.stderr.decode(errors='replace')[-500:]}")
    return child.stdout


class PendingIdentity:
    """Parsed IDs whose hashes are being computed (in a child process for a big column)."""

    def __init__(self, raw: pd.Series, secret: bytes) -> None:
        self.parsed = parse_id_number(raw)
        self.valid = self.parsed.values.notna()
        ids = self.parsed.values[self.valid]
        packed = "".join(ids.tolist()).encode("ascii")
        assert len(packed) == ID_WIDTH * len(ids), "a valid ID is 18 ASCII characters"
        if len(ids) >= PARALLEL_MIN_ROWS:
            self.digests: Future[bytes] = _pipes.submit(_hash_in_child, packed, len(ids), secret)
        else:
            self.digests = Future()
            self.digests.set_result(hmac_digests(packed, ID_WIDTH, secret))

    def result(self) -> Identity:
        index = self.parsed.values.index
        raw = self.digests.result()
        id_hash = pd.Series(None, index=index, dtype=object)
        person_key = pd.Series(pd.NA, index=index, dtype="Int64")
        masked = pd.Series(pd.NA, index=index, dtype="string[pyarrow]")
        if raw:
            digests = [raw[i : i + 32] for i in range(0, len(raw), 32)]
            keys = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32)[:, :8].copy().view(">i8").ravel().astype(np.int64)
            if self.valid.all():
                id_hash = pd.Series(digests, index=index, dtype=object)
                person_key = pd.Series(keys, index=index, dtype="Int64")
                masked = mask_ids(self.parsed.values)
            else:
                id_hash[self.valid] = digests
                person_key[self.valid] = keys
                masked[self.valid] = mask_ids(self.parsed.values[self.valid])
        return Identity(masked, self.parsed.errors, id_hash, person_key)


def identify(raw: pd.Series, secret: bytes) -> Identity:
    return PendingIdentity(raw, secret).result()
