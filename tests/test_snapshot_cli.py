"""The snapshot CLI's surface and its answers to bad input: one clear ``error:`` line, never a traceback."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from entrasnap import catalog
from entrasnap.cli.main import app
from entrasnap.fakegraph.server import FakeGraph, Settings
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.fakegraph.tenant import generate
from entrasnap.graph import flow
from test_snapshot_robustness import TlsAndPlain, clean_env, run_cli_process, snapshot

Factory = Callable[..., RunningFakeGraph]
runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "ENTRASNAP_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(flow, "BACKOFF_BASE", 0.005)


def cli(*args: object, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env=env)


def one_error_line(result: Result | Any, *needles: str) -> str:
    """The failure is exactly one ``error: ...`` line on stderr (no traceback) and a non-zero exit."""
    code = result.exit_code if isinstance(result, Result) else result.returncode
    assert code not in (0, None), result.stdout
    if isinstance(result, Result):
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return str(lines[0])


def snap(fg: RunningFakeGraph, store: Path, *extra: object, token: str = "any") -> tuple[Result, Any]:
    return snapshot(fg, store, *extra, token=token)


# --- 7. bad input ----------------------------------------------------------------------------------------


@pytest.fixture
def signin_fake(tmp_path: Path) -> Iterator[tuple[TlsAndPlain, Path]]:
    from test_graph_credentials import write_certificate

    cert, pem = write_certificate(tmp_path)
    server = TlsAndPlain(FakeGraph(generate("S", 1), Settings(time_scale=0.01)), pem).start()
    httpx.post(
        f"{server.url}/_fakegraph/clients", json={"clientId": "app", "secret": "right", "roles": []}
    ).raise_for_status()
    yield server, cert
    server.stop()


@pytest.mark.parametrize(
    ("tenant", "secret", "needle"),
    [("wrong-tenant.example", "right", "AADSTS90002"), (None, "wrong", "AADSTS7000215")],
)
def test_sign_in_failures_are_one_line(
    signin_fake: tuple[TlsAndPlain, Path], tmp_path: Path, tenant: str | None, secret: str, needle: str
) -> None:
    server, cert = signin_fake
    done = run_cli_process(
        [
            "snapshot",
            "--auth",
            "client-secret",
            "--client-id",
            "app",
            "--tenant",
            tenant or server.fake.store.tenant_id,
            "--authority",
            server.authority,
            "--graph-url",
            server.url,
            "--store",
            str(tmp_path / "repo"),
        ],
        clean_env(tmp_path, AZURE_CLIENT_SECRET=secret, SSL_CERT_FILE=str(cert)),
        timeout=60,
    )
    one_error_line(done, needle)
    assert not (tmp_path / "repo" / "snapshots").exists() or not any(
        (tmp_path / "repo" / "snapshots").iterdir()
    )


def test_unreachable_graph_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = cli(
        "snapshot",
        "--graph-url",
        f"http://127.0.0.1:{port}",
        "--access-token",
        "any",
        "--tenant",
        "contoso.example",
        "--store",
        tmp_path / "repo",
    )
    one_error_line(result, f"127.0.0.1:{port}")
    assert not any((tmp_path / "repo" / "snapshots").glob("*.json"))


def test_unwritable_store_is_one_line(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    result, _ = snap(fakegraph, tmp_path / "file" / "repo", "--types", "domains")
    one_error_line(result, str(tmp_path / "file"))


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[tenant.a\nstore = 'x'", "not valid TOML"),
        ("[tenant.a]\nstore = 'x'\ncolour = 'blue'\n", "colour"),
        ("[tenant.a]\nstore = 'x'\nclient_secret = 'hunter2'\n", "client_secret_env"),
    ],
)
def test_malformed_config_is_one_line(tmp_path: Path, content: str, needle: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(content)
    result = cli("snapshot", "--config", config, "--access-token", "any")
    line = one_error_line(result, needle, str(config))
    assert "hunter2" not in line


def test_unknown_type_lists_the_choices(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    result, _ = snap(fakegraph, tmp_path / "repo", "--types", "users,nosuchtype")
    one_error_line(result, "nosuchtype", "conditionalAccessPolicies", "conditional-access")


def test_export_and_list_errors(fakegraph: RunningFakeGraph, tmp_path: Path) -> None:
    store = tmp_path / "repo"
    result, _ = snap(fakegraph, store, "--types", "domains")
    assert result.exit_code == 0, result.stderr
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    one_error_line(cli("export", "latest", "--store", store, "--to", full), str(full), "not empty")
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    one_error_line(cli("export", "2001-01-01", "--store", store, "--to", tmp_path / "out"), "2001-01-01")
    assert not (tmp_path / "out").exists()
    (tmp_path / "plain").mkdir()
    one_error_line(cli("list", "--store", tmp_path / "plain"), str(tmp_path / "plain"))
    assert not (tmp_path / "plain" / "config.json").exists()


# --- 8. the surface ------------------------------------------------------------------------------------


def test_permissions_command(fakegraph: RunningFakeGraph) -> None:
    everything = cli("permissions")
    assert everything.exit_code == 0, everything.stderr
    assert everything.stdout.split() == catalog.permissions(catalog.CATALOG)
    ca = cli("permissions", "--types", "conditional-access", "--json")
    expected = catalog.permissions(catalog.resolve(["conditional-access"]))
    assert json.loads(ca.stdout) == {"permissions": expected, "missing": None}
    held = [p for p in expected if p != "Policy.Read.All"]
    checked = cli("permissions", "--types", "conditional-access", "--access-token", fakegraph.token(held))
    assert checked.exit_code == 2
    marks = dict(line.split() for line in checked.stdout.splitlines())
    assert marks == {p: ("MISSING" if p == "Policy.Read.All" else "ok") for p in expected}
    # Organization.Read.All: every snapshot reads /organization to know which tenant it files
    users_only = ["User.Read.All", "Organization.Read.All"]
    all_held = cli("permissions", "--types", "users", "--access-token", fakegraph.token(users_only))
    assert all_held.exit_code == 0 and "MISSING" not in all_held.stdout


def test_list_json_export_refs_and_json_record(fakegraph_factory: Factory, tmp_path: Path) -> None:
    fg = fakegraph_factory(time_scale=0.01)
    store = tmp_path / "repo"
    first_result, first = snap(fg, store, "--types", "users,domains")
    second_result, second = snap(fg, store, "--types", "users,domains")
    assert first_result.exit_code == second_result.exit_code == 0
    assert first["status"] == "complete" and set(first["types"]) == {"users", "domains"}
    assert second["parent"] == first["id"]

    listed = json.loads(cli("list", "--store", store, "--json").stdout)
    assert [s["id"] for s in listed] == [first["id"], second["id"]]
    entry = listed[0]
    assert set(entry) == {
        "id",
        "started",
        "finished",
        "tenant",
        "tenantId",
        "status",
        "objects",
        "counts",
        "notOk",
    }
    assert entry["tenantId"] == fg.tenant_id and entry["status"] == "complete" and entry["notOk"] == []
    assert entry["counts"] == {"users": len(fg.store.sets["users"]), "domains": len(fg.store.sets["domains"])}
    assert entry["objects"] == sum(entry["counts"].values())

    for ref, expected in [
        (first["id"], first),
        (first["id"][:8], first),
        ("latest", second),
        (first["started"], first),
        (second["finished"], second),
        ("2999-01-01", second),
    ]:
        out = tmp_path / f"export-{ref.replace(':', '_')}"
        result = cli("export", ref, "--store", store, "--to", out)
        assert result.exit_code == 0, (ref, result.stderr)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["snapshot"] == expected["id"], ref
        assert len(list((out / "users").glob("*.json"))) == len(fg.store.sets["users"])


def test_types_and_exclude_types_by_key_and_group(fakegraph_factory: Factory, tmp_path: Path) -> None:
    fg = fakegraph_factory(time_scale=0.01)
    _, by_group = snap(fg, tmp_path / "a", "--types", "roles", "--exclude-types", "exchangeRoleDefinitions")
    assert set(by_group["types"]) == set(catalog.GROUPS["roles"]) - {"exchangeRoleDefinitions"}
    _, by_key = snap(fg, tmp_path / "b", "--types", "users", "--types", "domains,groupSettings")
    assert set(by_key["types"]) == {"users", "domains", "groupSettings"}
    _, dropped_group = snap(
        fg, tmp_path / "c", "--types", "policies,applications", "--exclude-types", "policies"
    )
    assert set(dropped_group["types"]) == set(catalog.GROUPS["applications"])
    # A type scoped by a parent brings the parent along.
    _, scoped = snap(fg, tmp_path / "d", "--types", "groupEligibilitySchedules")
    assert set(scoped["types"]) == {"groups", "groupEligibilitySchedules"}
    assert all(info["status"] == "ok" for info in scoped["types"].values())


def test_cloud_only_captures_only_cloud_users_and_groups(fakegraph_factory: Factory, tmp_path: Path) -> None:
    fg = fakegraph_factory(time_scale=0.01)
    result, record = snap(fg, tmp_path / "repo", "--types", "users,groups", "--cloud-only")
    assert result.exit_code == 0, result.stderr
    export = tmp_path / "out"
    assert cli("export", "latest", "--store", tmp_path / "repo", "--to", export).exit_code == 0
    for key in ("users", "groups"):
        everything = list(fg.store.sets[key].after())
        cloud = {o["id"] for o in everything if o.get("onPremisesSyncEnabled") is not True}
        assert len(cloud) < len(everything)  # the tenant does have synced ones
        exported = {p.stem for p in (export / key).glob("*.json") if "." not in p.stem}
        assert exported == cloud
        assert record["types"][key]["count"] == len(cloud)


def test_config_file_tenant_runs_with_no_other_flags(
    fakegraph_factory: Factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fg = fakegraph_factory(time_scale=0.01)
    store = tmp_path / "repo"
    config = tmp_path / "xdg" / "entrasnap" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        f'[tenant.fake]\nstore = "{store}"\ngraph_url = "{fg.url}"\naccess_token_env = "FAKE_TOKEN"\n'
        'types = ["users", "config"]\n'
    )
    monkeypatch.setenv("FAKE_TOKEN", fg.token())
    result = cli("snapshot", "--tenant", "fake", "--json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["tenant"]["id"] == fg.tenant_id
    assert set(record["types"]) == {"users", *catalog.GROUPS["config"]}
    assert [p.name for p in (store / "snapshots").iterdir()] == [
        f"{p.name}" for p in (store / "snapshots").iterdir() if record["id"] in p.name
    ]
    table = cli("snapshot", "--tenant", "fake")  # the human summary goes to stderr
    assert table.exit_code == 0 and "complete" in table.stderr and table.stdout == ""
