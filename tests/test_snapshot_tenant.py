"""A snapshot is filed under the tenant the credentials reach, never under another tenant's name."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from entrasnap.cli.main import app
from entrasnap.fakegraph.service import RunningFakeGraph

runner = CliRunner()


def run(fakegraph: RunningFakeGraph, store: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        [
            "snapshot",
            "--store",
            str(store),
            "--graph-url",
            fakegraph.url,
            "--access-token",
            fakegraph.token(),
            "--types",
            "users",
            "--json",
            *args,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_wrong_tenant_is_refused_before_anything_is_written(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    code, _, err = run(fakegraph, tmp_path / "repo", "--tenant", "fabrikam.onmicrosoft.com")
    assert code == 1
    assert "credentials reach tenant" in err and fakegraph.tenant_id in err
    assert "Traceback" not in err
    assert not list((tmp_path / "repo" / "snapshots").glob("*.json"))


def test_tenant_named_by_id_or_verified_domain_is_accepted(
    fakegraph: RunningFakeGraph, tmp_path: Path
) -> None:
    for name in (fakegraph.tenant_id, fakegraph.store.domain.upper()):
        code, out, err = run(fakegraph, tmp_path / "repo", "--tenant", name)
        assert code == 0, err
        assert json.loads(out)["tenant"]["id"] == fakegraph.tenant_id


def test_tenant_defaults_to_the_access_tokens_tenant(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    code, out, err = run(fakegraph, tmp_path / "repo")
    assert code == 0, err
    assert json.loads(out)["tenant"]["id"] == fakegraph.tenant_id
