"""Findings of a review, fixed: each test reproduces the input that used to go wrong."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from entrasnap.cli.main import app
from entrasnap.fakegraph.service import RunningFakeGraph

runner = CliRunner()


def snap(fakegraph: RunningFakeGraph, store: Path, token: str, *args: str) -> dict[str, object]:
    result = runner.invoke(
        app,
        [
            "snapshot",
            "--store",
            str(store),
            "--graph-url",
            fakegraph.url,
            "--access-token",
            token,
            "--json",
            *args,
        ],
    )
    assert result.exit_code == 0, result.stderr
    record: dict[str, object] = json.loads(result.stdout)
    return record


def test_cloud_only_snapshot_is_not_compared_with_a_full_one(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    store = tmp_path / "repo"
    snap(fakegraph, store, fakegraph.token(), "--types", "users")
    second = snap(fakegraph, store, fakegraph.token(), "--types", "users", "--cloud-only")
    assert second["types"]["users"]["scope"] == "cloudOnly"  # type: ignore[index]
    result = runner.invoke(
        app, ["diff", "previous", "latest", "--store", str(store), "--format", "json", "--exit-code"]
    )
    body = json.loads(result.stdout)
    assert [n["type"] for n in body["notCaptured"]] == ["users"]
    assert all(not t["removed"] for t in body["types"])
    assert result.exit_code == 0  # nothing comparable changed


def test_tenant_is_the_tokens_when_organization_is_unreadable(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    token = fakegraph.token(["User.Read.All"])  # no Organization.Read.All
    record = snap(fakegraph, tmp_path / "repo", token, "--types", "users", "--tenant", "contoso.example")
    assert record["tenant"]["id"] == fakegraph.tenant_id  # type: ignore[index]
    wrong = runner.invoke(
        app,
        [
            "snapshot",
            "--store",
            str(tmp_path / "repo"),
            "--graph-url",
            fakegraph.url,
            "--access-token",
            token,
            "--types",
            "users",
            "--tenant",
            "00000000-0000-0000-0000-000000000001",
        ],
    )
    assert wrong.exit_code == 1 and "credentials reach tenant" in wrong.stderr


def test_output_path_errors_are_one_line_and_exit_2_for_diff(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    store = tmp_path / "repo"
    snap(fakegraph, store, fakegraph.token(), "--types", "domains")
    result = runner.invoke(
        app,
        [
            "diff",
            "latest",
            "latest",
            "--store",
            str(store),
            "--exit-code",
            "--output",
            str(tmp_path / "missing" / "x.json"),
        ],
    )
    assert result.exit_code == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "file").write_text("x")
    exported = runner.invoke(app, ["export", "latest", "--store", str(store), "--to", str(tmp_path / "file")])
    assert exported.exit_code == 1 and "Traceback" not in exported.stderr
