"""Building tokens of the QR intake: a MAC of the building's identity (street code + normalised name,
docs/rules.md#buildings) and the generation of its code, under a key of their own (``token_key``), apart
from the secret of the ID hashes.  Opaque, not guessable, stable across a database rebuilt from the same
files, verifiable without a token table, and revocable per building (``revoke_building_token``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from etl import config
from schemas.models import Building

TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22}")


def token_key() -> bytes:
    """The key of building tokens, kept apart from the secret of the ID hashes so that tokens can be
    re-keyed without re-keying every stored ID.

    $ONENET_TOKEN_SECRET wins; otherwise a random key is created once in ``token.key`` beside the
    installation secret (data/, mode 0600).  Deleting the file re-keys every token (print new codes).
    """
    if os.environ.get("ONENET_TOKEN_SECRET"):
        return hmac.new(os.environ["ONENET_TOKEN_SECRET"].encode(), TOKEN_KEY_INFO, hashlib.sha256).digest()
    path = token_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return hmac.new(path.read_text().strip().encode(), TOKEN_KEY_INFO, hashlib.sha256).digest()


TOKEN_KEY_INFO = b"onenet/intake/building-token/v2"


def token_key_path() -> Path:
    """``token.key`` beside the installation secret ($ONENET_SECRET_FILE, else $ONENET_DATA_DIR, else data/)."""
    if os.environ.get("ONENET_SECRET_FILE"):
        return Path(os.environ["ONENET_SECRET_FILE"]).with_name("token.key")
    if os.environ.get("ONENET_DATA_DIR"):
        return Path(os.environ["ONENET_DATA_DIR"]) / "token.key"
    return config.SECRET_PATH.with_name("token.key")


def building_token(street_code: str, building_name_key: str, key: bytes | None = None, generation: int = 0) -> str:
    """22 URL-safe characters: the first 128 bits of HMAC-SHA256 over the building's identity and the
    generation of its code (raised by each revocation)."""
    identity = f"{street_code}\x1f{building_name_key}" + (f"\x1f{generation}" if generation else "")
    mac = hmac.new(key or token_key(), identity.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode()


def revoke_building_token(session: Session, building_id: int, key: bytes | None = None) -> str:
    """Refuse the building's current QR code from now on; returns the token of its new code."""
    b = session.get(Building, building_id)
    b.token_generation = (b.token_generation or 0) + 1
    session.flush()
    return building_token(b.street_code, b.name_key, key, b.token_generation)


class TokenIndex:
    """token → building id, built from the building table and extended when a token is not found.

    A miss reads only the buildings added since (ids above the highest seen), or all of them again when
    a code was revoked meanwhile; a hit is checked against the building it names, so a database rebuilt
    or a code revoked under a running server is noticed.  Tokens of revoked codes are kept to tell them
    apart from mistyped ones.  The server's threads share it without a lock: the mappings are replaced
    whole, never changed in place, and a lost extension is redone at the next miss.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or token_key()
        self._ids: dict[str, int] = {}
        self._revoked: frozenset[str] = frozenset()
        self._max_id = 0
        self._generations = 0

    def building_id(self, session: Session, token: str) -> int | None:
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            return None
        for _ in range(2):
            found = self._ids.get(token)
            if found is None:
                self._extend(session)
                found = self._ids.get(token)
            if found is None:
                return None
            row = session.get(Building, found)
            if row is not None and hmac.compare_digest(
                    building_token(row.street_code, row.name_key, self.key, row.token_generation or 0), token):
                return found
            self._ids, self._max_id = {}, 0  # the table changed under us: start over once
        return None

    def revoked(self, token: str) -> bool:
        """Whether ``token`` is the code of a building as it was before a revocation (after a miss)."""
        return token in self._revoked

    def _extend(self, session: Session) -> None:
        generations = session.scalar(select(func.coalesce(func.sum(Building.token_generation), 0))) or 0
        ids, revoked, max_id = dict(self._ids), set(self._revoked), self._max_id
        if generations != self._generations:
            ids, revoked, max_id = {}, set(), 0
        rows = session.execute(select(Building.id, Building.street_code, Building.name_key, Building.token_generation)
                               .where(Building.id > max_id)).all()
        for ident, street, name, gen in rows:
            ids[building_token(street, name, self.key, gen or 0)] = ident
            revoked.update(building_token(street, name, self.key, g) for g in range(gen or 0))
        self._ids, self._revoked = ids, frozenset(revoked)
        self._max_id = max([max_id, *(ident for ident, *_ in rows)])
        self._generations = generations
