"""Resident ID numbers → what is kept of them: a keyed hash (the identity) and a masked form.

The raw number never leaves this step.  Normalisation replaces the ID column by its masked form and
adds the hash, so loading, rejects and logs downstream never hold it.

Hashing is a Python loop (about 1.7 s for a million IDs); on a big table it runs in a worker
process while the main process parses the other columns.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from etl.normalise import parse_id_number

PARALLEL_MIN_ROWS = 200_000
"""Smaller tables are identified in the main process: a worker's start-up would cost more."""


@dataclass
class Identity:
    masked: pd.Series  # 310105********1234 where the ID is valid, else missing
    errors: pd.Series  # error code per row, None where fine
    id_hash: pd.Series  # HMAC-SHA256 (32 bytes) where valid, else None
    person_key: pd.Series  # first 8 bytes of the hash as a signed int (Int64), missing where invalid


def hmac_digests(ids: pa.Array, secret: bytes) -> bytes:
    """HMAC-SHA256 of each ID, concatenated (RFC 2104, with the key pads hashed once).

    Equal to ``hmac.digest(secret, id, "sha256")`` per ID; reusing the padded-key states is 2.5x
    faster than building an HMAC context per ID, which matters at millions of rows.
    """
    block = (hashlib.sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block)).copy
    digests = []
    append = digests.append
    for message in ids.cast(pa.binary()).to_pylist():
        i = inner()
        i.update(message)
        o = outer()
        o.update(i.digest())
        append(o.digest())
    return b"".join(digests)


def mask_ids(ids: pd.Series) -> pd.Series:
    return ids.str.slice(0, 6) + "********" + ids.str.slice(14, 18)


class PendingIdentity:
    """Parsed IDs whose hashes are being computed (in the worker process for a big column)."""

    def __init__(self, raw: pd.Series, secret: bytes) -> None:
        self.parsed = parse_id_number(raw)
        self.valid = self.parsed.values.notna()
        ids = pa.chunked_array(self.parsed.values[self.valid].array._pa_array).combine_chunks()
        if len(ids) >= PARALLEL_MIN_ROWS:
            self.digests: Future[bytes] = _worker_pool().submit(hmac_digests, ids, secret)
        else:
            self.digests = Future()
            self.digests.set_result(hmac_digests(ids, secret))

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


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _worker_pool() -> ProcessPoolExecutor:
    """One worker, started once per process from a fork server.

    Not a plain fork: a forked child would inherit the parent's database sockets and keep a killed
    parent's PostgreSQL transaction (and its locks) alive.  Like every multiprocessing start method
    but fork, this needs the caller's script to guard its entry point (``if __name__ == "__main__"``).
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _start_pool()
    return _pool


def _start_pool() -> ProcessPoolExecutor:
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["etl.identity"])
    return ProcessPoolExecutor(max_workers=1, mp_context=context)


def warm_up() -> None:
    """Start the worker in the background, so that its start-up overlaps reading the file."""
    threading.Thread(target=lambda: _worker_pool().submit(int), daemon=True).start()
