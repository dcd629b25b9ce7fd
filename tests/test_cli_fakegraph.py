"""The ``entrasnap fakegraph`` commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from entrasnap.cli.main import app
from entrasnap.fakegraph.auth import authenticate

runner = CliRunner()
EXE = [sys.executable, "-m", "entrasnap.cli"]


def start_server(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*EXE, "fakegraph", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        if " at http://" in line:
            return proc, line.rsplit(" at ", 1)[1].strip()
    proc.kill()
    raise AssertionError("server did not start")


@pytest.fixture
def served() -> Iterator[str]:
    proc, url = start_server("--size", "S", "--seed", "3")
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_serve_help_documents_every_knob() -> None:
    result = runner.invoke(app, ["fakegraph", "serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for knob in (
        "--size",
        "--seed",
        "--port",
        "--host",
        "--state",
        "--time-scale",
        "--latency-ms",
        "--per-object-ms",
        "--error-rate",
        "--drop-rate",
        "--slow-rate",
        "--slow-ms",
        "--licenses",
        "--no-throttling",
        "--resource-units",
        "--delta-token-ttl",
        "--token-lifetime",
        "--client",
    ):
        assert knob in result.output, knob


def test_serve_answers_graph_urls_and_info(served: str) -> None:
    response = httpx.get(f"{served}/v1.0/users?$top=5", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 200
    assert len(response.json()["value"]) == 5
    info = httpx.get(f"{served}/_fakegraph/info").json()
    assert info["size"] == "S" and info["seed"] == 3


def test_token_command_carries_only_named_roles(served: str) -> None:
    result = runner.invoke(app, ["fakegraph", "token", "--roles", "User.Read.All", "--url", served])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    tenant = httpx.get(f"{served}/_fakegraph/info").json()["tenantId"]
    assert authenticate(f"Bearer {token}", tenant).permissions == frozenset({"User.Read.All"})
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{served}/v1.0/users", headers=headers).status_code == 200
    denied = httpx.get(f"{served}/v1.0/groups", headers=headers)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_token_offline_matches_generated_tenant_id() -> None:
    result = runner.invoke(
        app, ["fakegraph", "token", "--roles", "Group.Read.All", "--size", "S", "--seed", "3"]
    )
    assert result.exit_code == 0
    from entrasnap.fakegraph.tenant import generate

    tenant = generate("S", 3).tenant_id
    assert authenticate(f"Bearer {result.output.strip()}", tenant).permissions == frozenset(
        {"Group.Read.All"}
    )


def test_serve_bad_licence_is_a_clear_error() -> None:
    result = runner.invoke(app, ["fakegraph", "serve", "--licenses", "p3"])
    assert result.exit_code != 0
    assert "unknown licence" in result.output
    assert "Traceback" not in result.output


def test_serve_port_in_use_is_a_clear_error(served: str) -> None:
    port = served.rsplit(":", 1)[1]
    proc = subprocess.run(
        [*EXE, "fakegraph", "serve", "--port", port], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1
    assert "cannot listen" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_state_file_survives_restart_and_mutation(tmp_path: Path) -> None:
    state = tmp_path / "tenant.json.gz"
    proc, url = start_server("--state", str(state))
    try:
        headers = {"Authorization": "Bearer x"}
        user = httpx.get(f"{url}/v1.0/users?$top=1", headers=headers).json()["value"][0]
        patched = httpx.patch(
            f"{url}/v1.0/users/{user['id']}", json={"jobTitle": "Chief Snapshot Officer"}, headers=headers
        )
        assert patched.status_code == 204
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert state.exists()
    proc, url = start_server("--state", str(state))
    try:
        got = httpx.get(
            f"{url}/v1.0/users/{user['id']}?$select=jobTitle", headers={"Authorization": "Bearer x"}
        )
        assert got.json()["jobTitle"] == "Chief Snapshot Officer"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    result = runner.invoke(
        app,
        [
            "fakegraph",
            "mutate",
            "rename",
            "--state",
            str(state),
            "--set",
            f"id={user['id']}",
            "--set",
            "displayName=Renamed Person",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)


def test_mutate_needs_exactly_one_target() -> None:
    result = runner.invoke(app, ["fakegraph", "mutate", "churn"])
    assert result.exit_code == 1
    assert "exactly one of --url" in result.output
