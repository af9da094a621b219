"""Abuse guards of the intake: a per-token sliding-window rate limit and the form's CSRF pair."""
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

    Only valid building tokens are keys, so memory is bounded by the number of buildings.
    """

    def __init__(self, limit: int, window: float, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit; None when allowed, else the seconds until the next hit would be."""
        now = self.clock()
        with self._lock:
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
