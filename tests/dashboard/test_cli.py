"""`onenet users`: accounts an administrator manages from the command line, on both engines.  The first command
of each engine runs `onenet` as its own process (the console script, the password on a real pipe); the rest call
its main in this process, with the same arguments, standard input and outputs."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.auth import check_login
from etl.cli import main
from etl.database import init_db, make_engine
from schemas.audit import AuditEntry
from schemas.models import User

ROOT = Path(__file__).resolve().parents[2]


Users = Callable[..., subprocess.CompletedProcess[str]]


def users_process(db_url: str, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "etl.cli", "--db", db_url, "users", *args], cwd=ROOT,
                          env=dict(os.environ), input=password, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def users(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Users:
    """`onenet users` in this process: what its process would exit with and print."""
    def run(db_url: str, *args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = ["--db", db_url, "users", *args]
        monkeypatch.setattr(sys, "stdin", io.StringIO(password or ""))
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's and engine_from_args' way out, as the process would exit
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        said = capsys.readouterr()
        return subprocess.CompletedProcess(argv, code, said.out, said.err)

    return run


def test_add_list_passwd_disable(db_url: str, users: Users) -> None:
    init_db(make_engine(db_url))
    added = users_process(db_url, "add", "wang", "--role", "district", "--scope", "310105", "--password-stdin",
                          password="first-pass-2020\n")
    assert added.returncode == 0, added.stderr
    with Session(make_engine(db_url)) as s:
        user = check_login(s, "wang", "first-pass-2020")
        assert user is not None and (user.role, user.scope_code, user.can_see_personal_data) == ("district", "310105", False)

    listed = users(db_url, "list")
    assert "wang" in listed.stdout and "区领导" in listed.stdout and "310105" in listed.stdout

    again = users(db_url, "add", "wang", "--role", "district", "--scope", "310101", "--password-stdin", password="x" * 10 + "\n")
    assert again.returncode == 2 and "wang" in again.stderr
    bad_scope = users(db_url, "add", "li", "--role", "street", "--scope", "999999", "--password-stdin", password="y" * 10 + "\n")
    assert bad_scope.returncode == 2 and "999999" in bad_scope.stderr
    short = users(db_url, "add", "zhao", "--role", "analyst", "--scope", "310000", "--password-stdin", password="nine-char\n")
    assert short.returncode == 2 and "10 个字符" in short.stderr
    same = users(db_url, "add", "zhaoliuqi1", "--role", "analyst", "--scope", "310000", "--password-stdin",
                 password="zhaoliuqi1\n")
    assert same.returncode == 2 and "用户名" in same.stderr

    assert users(db_url, "passwd", "wang", "--password-stdin", password="second-pass-2020\n").returncode == 0
    with Session(make_engine(db_url)) as s:
        assert check_login(s, "wang", "first-pass-2020") is None
        assert check_login(s, "wang", "second-pass-2020") is not None
        assert s.scalar(select(User.session_version).where(User.username == "wang")) == 1, "open sessions end"
    assert users(db_url, "disable", "wang").returncode == 0
    with Session(make_engine(db_url)) as s:
        assert check_login(s, "wang", "second-pass-2020") is None
        assert s.scalar(select(User.session_version).where(User.username == "wang")) == 2
    assert users(db_url, "enable", "wang").returncode == 0
    with Session(make_engine(db_url)) as s:
        assert check_login(s, "wang", "second-pass-2020") is not None
        trail = [(e.actor.startswith("cli:"), e.action, e.scope_code) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert trail == [(True, "user_add", "310105"), (True, "user_passwd", "310105"), (True, "user_disable", "310105"),
                         (True, "user_enable", "310105")]


def test_serve_on_a_database_without_users_says_how_to_add_one(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'empty.db'}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "etl.cli", "--db", db_url, "serve", "--port", str(port)],
                              cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = server.stderr.readline() if server.stderr else ""
        while said and "no dashboard users" not in said:
            said = server.stderr.readline() if server.stderr else ""
        hint = server.stderr.readline() if server.stderr else ""
    finally:
        server.kill()
        server.wait(timeout=30)
    assert "nobody can log in" in said
    assert "onenet users add NAME --role admin --scope 310000" in hint
