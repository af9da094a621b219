"""Every path and tunable of onenet in one place (cookiecutter-data-science style)."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
import importlib.util
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[1]
IN_CHECKOUT = (PROJECT_ROOT / "setup.cfg").is_file() and (PROJECT_ROOT / "data" / "shanghai_districts.csv").is_file()
"""Running from a source checkout (or an editable install of one), not from an installed wheel."""


def _shipped_data_dir() -> Path:
    """The reference data that ships with the product (districts, streets, boundaries): data/ of the
    checkout, else the ``onenet_data`` package setuptools installs from that folder."""
    if IN_CHECKOUT:
        return PROJECT_ROOT / "data"
    # A namespace package (data/ holds no code): its portions are looked through, not importlib.resources,
    # which refuses a portion that is not a folder (such as the path hook an editable install adds).
    spec = importlib.util.find_spec("onenet_data")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "shanghai_districts.csv").is_file():
            return Path(location)
    raise RuntimeError("onenet's reference data (package onenet_data) is not installed; reinstall onenet")


SHIPPED_DATA_DIR = _shipped_data_dir()
TEMPLATES_DIR = SHIPPED_DATA_DIR / "templates"
"""The ready report templates offered by `onenet fill` and the dashboard's 按模板导出 (data/templates)."""
# The database and the secret: data/ of a checkout (as the README says), else ./data of the current directory.
DATA_DIR = Path(os.environ.get("ONENET_DATA_DIR") or (PROJECT_ROOT / "data" if IN_CHECKOUT else Path.cwd() / "data"))
DEFAULT_DB_PATH = DATA_DIR / "onenet.db"
SECRET_PATH = Path(os.environ.get("ONENET_SECRET_FILE", DATA_DIR / "secret.key"))

TIMEZONE = ZoneInfo(os.environ.get("ONENET_TZ", "Asia/Shanghai"))
CAMPAIGN_YEAR = int(os.environ.get("ONENET_CAMPAIGN_YEAR", "2020"))
REOPENING_TARGET = 0.70
STREAM_ROWS = 5_000
"""Rows a streamed query hands over at a time (exports, fills): memory bounded by it, not by the result."""
QUARANTINE_DAYS = 14

CITY_CODE = "310000"
CITY_NAME = "上海市"

# The dashboard's map needs no tiles; a tile server may be set ({z}/{x}/{y} raster URL), e.g. the city's own.
MAP_TILE_URL = os.environ.get("ONENET_TILE_URL") or None

MIN_SECRET_BYTES = 32

# Logins and sessions of the dashboard (docs/rules.md#logins-and-sessions).
SESSION_IDLE_HOURS = float(os.environ.get("ONENET_SESSION_IDLE_HOURS") or 8)
"""A dashboard session ends after this many hours without a request."""
COOKIE_SECURE = os.environ.get("ONENET_COOKIE_SECURE") == "1"
"""Mark the session cookie ``Secure`` (sent over HTTPS only): set when the app is served behind HTTPS."""
LOGIN_FAILURES_PER_NAME = 5
LOGIN_FAILURES_PER_ADDRESS = 20
LOGIN_WINDOW = timedelta(minutes=15)
"""That many failed logins for one user name, or from one address, within this window ..."""
LOGIN_PAUSE = timedelta(minutes=15)
"""... pause logins for that name or address for this long, counted from the last of them."""

# Guards for hostile or broken input files (docs/sources.md, "Limits").
MAX_FILE_BYTES = 2 * 1024**3
MAX_UNZIPPED_BYTES = int(os.environ.get("ONENET_MAX_UNZIPPED_BYTES", 4 * 1024**3))
"""Bytes a workbook may inflate to, counted while inflating (a zip entry's declared size can lie)."""
MAX_ZIP_RATIO = 200
EXCEL_MAX_ROWS = 1_048_576
"""Rows of one sheet in Excel; a sheet claiming more was not written by Excel and is refused."""
MAX_ROWS = int(os.environ.get("ONENET_MAX_ROWS", 500_000))
"""Rows of one file (all sheets together, header rows included) read at most; a larger file is refused
with a request to split it.  With MAX_CELLS it keeps the peak memory of a load under 1 GB
(benchmarks/bench_file_memory.py)."""
MAX_CELLS = int(os.environ.get("ONENET_MAX_CELLS", 6_000_000))
"""Cells of one file read at most: the filled cells of a workbook's sheets, a CSV's lines times the columns read."""


def database_url(explicit: str | None = None) -> str:
    """--db, else $ONENET_DB, else the embedded SQLite file under data/."""
    if explicit:
        return explicit
    if os.environ.get("ONENET_DB"):
        return os.environ["ONENET_DB"]
    DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DB_PATH}"


class WeakSecret(RuntimeError):
    """The configured secret is too short to key the resident-ID hashes and the intake tokens."""


def installation_secret() -> bytes:
    """The per-installation HMAC key for resident IDs, kept outside the database.

    $ONENET_SECRET wins; otherwise a random key is created once in data/secret.key (mode 0600).
    Losing the key makes stored hashes unmatchable with new input, so back it up with the DB.
    A key shorter than MIN_SECRET_BYTES is refused: a short one can be guessed, and with it every
    stored ID hash can be matched against the few hundred million possible ID numbers.
    """
    if os.environ.get("ONENET_SECRET"):
        return _strong(os.environ["ONENET_SECRET"].encode(), "$ONENET_SECRET")
    if not SECRET_PATH.exists():
        SECRET_PATH.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(SECRET_PATH, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return _strong(SECRET_PATH.read_text().strip().encode(), str(SECRET_PATH))


def _strong(secret: bytes, where: str) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise WeakSecret(
            f"the secret in {where} is {len(secret)} bytes; at least {MIN_SECRET_BYTES} are required. "
            'Make one with: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return secret


def local_now() -> datetime:
    """Naive local wall-clock time: every stored timestamp is local time in TIMEZONE."""
    return datetime.now(TIMEZONE).replace(tzinfo=None, microsecond=0)
