"""The whole flow as a user runs it: simulator, account add (X and a Facebook Page),
poll --once, the API, a reply on each of the four kinds of conversation, poll again.

Every piece is a real process talking HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import EXE, free_port, get, run


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"process for {url} exited with {proc.returncode}"
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


def post(url: str, body: dict, token: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
        return resp.status, json.loads(resp.read())


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:  # type: ignore[type-arg]
    procs: list[subprocess.Popen] = []  # type: ignore[type-arg]
    yield procs
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_simulator_accounts_poll_and_reply_on_every_kind(
        kind: str, fresh_db_url, tmp_path: Path, processes: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    env = {"SWITCHBOARD_DATABASE_URL": fresh_db_url(kind),
           "SWITCHBOARD_SECRET_KEY": "test-secret-key-" + "x" * 20,
           "SWITCHBOARD_ENCRYPTION_KEY": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE="}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    sim_port, app_port = free_port(), free_port()
    sim_url, app_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{app_port}"
    processes.append(subprocess.Popen([EXE, "simulator", "--port", str(sim_port)], cwd=tmp_path,
                                      env=clean, stdout=subprocess.DEVNULL))
    wait_for(sim_url + "/_sim/brands", processes[-1])
    creds = get(sim_url + "/_sim/brands")[1]["brands"][0]["credentials"]
    page = get(sim_url + "/_sim/pages")[1]["pages"][0]

    assert run(["migrate"], tmp_path, env).returncode == 0
    bad = run(["account", "add", "x", "--name", "Acme", "--api-base-url", sim_url,
               "--bearer-token", "wrong"], tmp_path, env)
    assert bad.returncode == 1 and "refused" in bad.stderr
    added = run(["account", "add", "x", "--name", "Acme", "--api-base-url", sim_url,
                 "--consumer-key", creds["consumer_key"],
                 "--consumer-secret", creds["consumer_secret"],
                 "--access-token", creds["access_token"],
                 "--access-token-secret", creds["access_token_secret"]], tmp_path, env)
    assert added.returncode == 0, added.stderr
    wrong_page = run(["account", "add", "facebook", "--name", "Acme FB", "--api-base-url",
                      sim_url, "--page-id", "1", "--page-token",
                      page["credentials"]["page_token"]], tmp_path, env)
    assert wrong_page.returncode == 1
    bad_version = run(["account", "add", "facebook", "--name", "Acme FB", "--page-id",
                       page["page_id"], "--page-token", "t", "--graph-version", "21"],
                      tmp_path, env)
    assert bad_version.returncode == 2 and "v21.0" in bad_version.stderr
    fb = run(["account", "add", "facebook", "--name", "Acme FB", "--api-base-url", sim_url,
              "--page-id", page["page_id"], "--page-token", page["credentials"]["page_token"]],
             tmp_path, env)
    assert fb.returncode == 0, fb.stderr

    polled = run(["poll", "--once"], tmp_path, env)
    assert polled.returncode == 0, polled.stderr
    assert "new messages" in polled.stdout
    listing = run(["account", "list"], tmp_path, env)
    assert "Acme FB" in listing.stdout and "last poll: never" not in listing.stdout

    run(["user", "create", "--email", "a@example.com", "--name", "Ann",
         "--password-stdin"], tmp_path, env, stdin="long enough pw\n")
    token = run(["token", "create", "--agent", "a@example.com"], tmp_path, env).stdout.strip()
    processes.append(subprocess.Popen(
        [EXE, "serve", "--no-worker", "--port", str(app_port)], cwd=tmp_path,
        env=clean | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_for(app_url + "/healthz", processes[-1])

    items = get(app_url + "/api/v1/conversations?limit=200", token)[1]["items"]
    kinds = {"x_mention", "x_dm", "fb_comment", "fb_messenger"}
    assert {i["thread_kind"] for i in items} == kinds
    replies = {}
    for k in sorted(kinds):
        # The newest of each kind: a Messenger thread inside its reply window.
        conv = next(i for i in sorted(items, key=lambda i: i["last_message_at"], reverse=True)
                    if i["thread_kind"] == k)
        status, reply = post(f"{app_url}/api/v1/conversations/{conv['id']}/replies",
                             {"text": f"Thanks for writing ({k}), we are on it."}, token)
        assert (status, reply["delivery_state"]) == (202, "queued")
        replies[k] = (conv["id"], reply["id"])

    assert run(["poll", "--once"], tmp_path, env).returncode == 0
    for k, (conv_id, reply_id) in replies.items():
        detail = get(f"{app_url}/api/v1/conversations/{conv_id}", token)[1]
        ours = next(m for m in detail["messages"] if m["id"] == reply_id)
        assert ours["delivery_state"] == "sent", (k, ours)
    x_sent = {s["text"] for s in get(sim_url + "/_sim/sent")[1]["sent"]}
    fb_sent = {s["text"] for s in get(sim_url + "/_sim/facebook/sent")[1]["sent"]}
    assert x_sent == {f"Thanks for writing ({k}), we are on it." for k in ("x_dm", "x_mention")}
    assert fb_sent == {f"Thanks for writing ({k}), we are on it."
                       for k in ("fb_comment", "fb_messenger")}
