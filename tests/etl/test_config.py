"""The installation secret keys every resident-ID hash: a short one is refused with a clear error."""
from __future__ import annotations

from pathlib import Path

import pytest

from etl import config


@pytest.mark.parametrize("secret", ["x", "test-secret-not-for-production", "a" * 31])
def test_a_secret_shorter_than_32_bytes_is_refused(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONENET_SECRET", secret)
    with pytest.raises(config.WeakSecret, match=r"ONENET_SECRET.*at least 32"):
        config.installation_secret()


def test_a_secret_of_32_bytes_or_more_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONENET_SECRET", "a" * 32)
    assert config.installation_secret() == b"a" * 32
    monkeypatch.setenv("ONENET_SECRET", "密钥" * 6)  # 36 bytes in UTF-8
    assert config.installation_secret() == ("密钥" * 6).encode()


def test_a_short_secret_file_is_refused_and_a_created_one_is_strong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONENET_SECRET")
    monkeypatch.setattr(config, "SECRET_PATH", tmp_path / "new" / "secret.key")
    assert len(config.installation_secret()) >= 32
    assert (tmp_path / "new" / "secret.key").stat().st_mode & 0o777 == 0o600
    short = tmp_path / "short.key"
    short.write_text("hunter2\n")
    monkeypatch.setattr(config, "SECRET_PATH", short)
    with pytest.raises(config.WeakSecret, match="short.key"):
        config.installation_secret()
