"""Abuse guards of the intake: sliding-window rate limits (per client and token, per token) and the form's
CSRF pair."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from etl import config

CSRF_COOKIE = "onenet_intake_csrf"
_COOKIE_RE_LEN = 43  # secrets.token_urlsafe(32)


class SlidingWindowLimiter:
    """At most ``limit`` hits per key within any ``window`` seconds (in-process; one server process).

    Keys hold a valid building token (and a client address); keys without a hit in the window are
    dropped whenever their number passes ``max_keys``, so memory stays bounded.
    """

    def __init__(self, limit: int, window: float, clock=time.monotonic, max_keys: int = 10_000) -> None:  # type: ignore[no-untyped-def]
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit; None when allowed, else the seconds until the next hit would be."""
        now = self.clock()
        with self._lock:
            if key not in self._hits and len(self._hits) >= self.max_keys:
                self._hits = {k: h for k, h in self._hits.items() if h and h[-1] > now - self.window}
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 1.0)
            hits.append(now)
            return None


def csrf_key(secret: bytes | None = None) -> bytes:
    return hmac.new(secret or config.installation_secret(), b"onenet/intake/csrf/v1", hashlib.sha256).digest()


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def valid_cookie(value: str | None) -> bool:
    return isinstance(value, str) and len(value) == _COOKIE_RE_LEN and value.replace("-", "").replace("_", "").isalnum()


def form_token(key: bytes, cookie_value: str, building_token: str) -> str:
    """The hidden field that must come back with the cookie: bound to this browser and this building."""
    return hmac.new(key, f"{cookie_value}|{building_token}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, cookie_value: str | None, field_value: str | None, building_token: str) -> bool:
    if not valid_cookie(cookie_value) or not isinstance(field_value, str):
        return False
    return hmac.compare_digest(form_token(key, cookie_value or "", building_token), field_value)
