"""The `switchboard` command, run as a user runs it: a real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

EXE = shutil.which("switchboard", path=str(Path(sys.executable).parent)) or "switchboard"


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    full_env |= env or {}
    return subprocess.run([EXE, *args], cwd=cwd, env=full_env, input=stdin, text=True,
                          capture_output=True, timeout=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_env(request: pytest.FixtureRequest, fresh_db_url) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"SWITCHBOARD_DATABASE_URL": fresh_db_url(request.param)}


def test_migrate_user_and_token(tmp_path: Path, db_env: dict[str, str]) -> None:
    r = run(["token", "create", "--agent", "a@example.com"], tmp_path, db_env)
    assert r.returncode == 1 and "switchboard migrate" in r.stderr

    assert run(["migrate"], tmp_path, db_env).returncode == 0
    r = run(["user", "create", "--email", "A@Example.com", "--name", "Ann", "--role",
             "supervisor", "--password-stdin"], tmp_path, db_env, stdin="correct horse\n")
    assert r.returncode == 0, r.stderr
    assert "supervisor a@example.com" in r.stdout

    again = run(["user", "create", "--email", "a@example.com", "--name", "Ann",
                 "--password-stdin"], tmp_path, db_env, stdin="correct horse\n")
    assert again.returncode == 1 and "exists already" in again.stderr

    r = run(["token", "create", "--agent", "a@example.com"], tmp_path, db_env)
    assert r.returncode == 0 and r.stdout.strip().startswith("sb_")
    missing = run(["token", "create", "--agent", "nobody@example.com"], tmp_path, db_env)
    assert missing.returncode == 1 and "no agent" in missing.stderr


@pytest.mark.parametrize("args", [
    ["serve", "--bogus"], ["serve", "--port", "abc"], ["user", "create", "--email", "x"],
    ["nonsense"],
])
def test_bad_usage_is_a_short_error(tmp_path: Path, args: list[str]) -> None:
    r = run(args, tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip()


def test_weak_password_and_bad_role_are_refused(tmp_path: Path) -> None:
    env = {"SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    run(["migrate"], tmp_path, env)
    r = run(["user", "create", "--email", "b@example.com", "--name", "B", "--password-stdin"],
            tmp_path, env, stdin="short\n")
    assert r.returncode == 1 and "at least 8" in r.stderr
    r = run(["user", "create", "--email", "b@example.com", "--name", "B", "--role", "boss",
             "--password-stdin"], tmp_path, env, stdin="long enough pw\n")
    assert r.returncode == 1 and "role" in r.stderr


def test_bytes_that_are_not_text_are_refused_without_a_traceback(tmp_path: Path) -> None:
    env = {"SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    run(["migrate"], tmp_path, env)
    create = [EXE, "user", "create", "--email", "c@example.com", "--name", "C",
              "--password-stdin"]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    r = subprocess.run(create, cwd=tmp_path, env=full_env | env, input=b"long enough\xff\n",
                       capture_output=True, timeout=60)
    assert r.returncode == 1 and b"Traceback" not in r.stderr, r.stderr
    run(["user", "create", "--email", "d@example.com", "--name", "D", "--password-stdin"],
        tmp_path, env, stdin="long enough pw\n")
    token = subprocess.run([EXE, "token", "create", "--agent", "d@example.com", "--name",
                            b"x\xed\xa0\x80y"], cwd=tmp_path, env=full_env | env,
                           capture_output=True, timeout=60)
    assert token.returncode == 1 and b"Traceback" not in token.stderr, token.stderr
    assert b"token name" in token.stderr


def test_bad_setting_stops_with_one_line(tmp_path: Path) -> None:
    r = run(["migrate"], tmp_path, {"SWITCHBOARD_DATABASE_URL": "mysql://nope"})
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "SWITCHBOARD_DATABASE_URL" in r.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    env = {"SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path}/new.db",
           "SWITCHBOARD_SECRET_KEY": "s" * 32, "SWITCHBOARD_ENCRYPTION_KEY": "k" * 44}
    r = run(["serve", "--port", "1"], tmp_path, env)
    assert r.returncode == 1
    assert "not migrated" in r.stderr and "switchboard migrate" in r.stderr


def test_serve_without_keys_names_the_setting(tmp_path: Path) -> None:
    r = run(["serve"], tmp_path, {"SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"})
    assert r.returncode == 2 and "SWITCHBOARD_SECRET_KEY" in r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token
                                 else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_demo_serves_seeded_conversations(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([EXE, "demo", "--port", str(port)], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith("SWITCHBOARD_")})
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Uvicorn running" in line or not line:
                break
        out = "".join(lines)
        token = re.search(r"API token: (\S+)", out)
        assert token, out
        base = f"http://127.0.0.1:{port}"
        assert get(base + "/healthz")[0] == 200
        assert get(base + "/readyz") == (200, {"status": "ready"})
        status, body = get(base + "/api/v1/conversations?limit=100", token.group(1))
        assert status == 200
        platforms = {i["platform"] for i in body["items"]}
        assert platforms == {"x", "facebook"}
        assert len({i["account_id"] for i in body["items"]}) >= 3
        assert (tmp_path / "var" / "demo.db").exists()
    except Exception:
        proc.terminate()
        print(proc.communicate(timeout=10)[0][-4000:])  # the server's side of the story
        raise
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def test_reports_rebuild_recomputes_every_conversation(tmp_path: Path) -> None:
    env = {"SWITCHBOARD_DATABASE_URL": f"sqlite:///{tmp_path}/r.db"}
    assert run(["reports-rebuild"], tmp_path, env).returncode == 1  # not migrated yet
    run(["migrate"], tmp_path, env)
    r = run(["reports-rebuild"], tmp_path, env)
    assert r.returncode == 0 and "of 0 conversations" in r.stdout
