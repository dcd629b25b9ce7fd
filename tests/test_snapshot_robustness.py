"""Snapshots that meet a hostile Graph: throttling storms, 5xx and dropped connections, tokens that expire,
missing permissions and licences, and a run killed half way. Each against fakegraph over real HTTP.

Retries without ``Retry-After`` use the Graph client's exponential backoff; the in-process tests shrink its
base (``entrasnap.graph.flow.BACKOFF_BASE``) so that they stay fast. Retry-After values come from fakegraph,
scaled by its ``time_scale``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from typer.testing import CliRunner, Result

from entrasnap import catalog
from entrasnap.cli.main import app
from entrasnap.collect import Options
from entrasnap.fakegraph.auth import issue_token
from entrasnap.fakegraph.server import FakeGraph, ServerThread, Settings, build_app
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.fakegraph.tenant import generate
from entrasnap.graph import GraphClient, flow
from entrasnap.services.snapshot import take_snapshot
from entrasnap.store import LocalBackend, Repository
from entrasnap.store.codec import PLAIN
from entrasnap.store.pack import read_trailer
from repo_tools import contents, pack_keys

Factory = Callable[..., RunningFakeGraph]
runner = CliRunner()
# Types that exercise paging, $batch children and parent-scoped PIM-for-groups, without the paced CA endpoints.
QUICK = "users,groups,applications,pim"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config or AZURE_* variables leak in; backoff without Retry-After is quick."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "ENTRASNAP_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(flow, "BACKOFF_BASE", 0.02)


def cli(*args: object, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, [str(a) for a in args], env=env)


def snapshot(fg: RunningFakeGraph, store: Path, *extra: object, token: str = "any") -> tuple[Result, Any]:
    """``entrasnap snapshot --json`` against ``fg``; the result and the printed record (None if none)."""
    result = cli(
        "snapshot",
        "--graph-url",
        fg.url,
        "--access-token",
        token,
        "--tenant",
        fg.tenant_id,
        "--store",
        store,
        "--json",
        *extra,
    )
    assert "Traceback" not in result.stderr, result.stderr
    record = json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else None
    return result, record


def statuses(record: dict[str, Any]) -> dict[str, str]:
    return {key: info["status"] for key, info in record["types"].items()}


def counts(record: dict[str, Any]) -> dict[str, tuple[int, dict[str, int]]]:
    return {key: (info["count"], info.get("children", {})) for key, info in record["types"].items()}


def add_faults(fg: RunningFakeGraph, rules: list[dict[str, Any]]) -> None:
    httpx.post(f"{fg.url}/_fakegraph/faults", json=rules).raise_for_status()


def count_batch_items(fake: FakeGraph, status: int) -> list[int]:
    """Wrap ``fake.batch`` to count the items answered ``status`` inside $batch envelopes."""
    seen = [0]
    original = fake.batch

    def batch(*args: Any, **kwargs: Any) -> Any:
        response = original(*args, **kwargs)
        if isinstance(response.body, dict):
            seen[0] += sum(1 for r in response.body.get("responses", []) if r.get("status") == status)
        return response

    fake.batch = batch  # type: ignore[method-assign]
    return seen


# --- 1. throttling storms ---------------------------------------------------------------------------


def test_throttling_storm_completes_and_counts_throttles(fakegraph_factory: Factory, tmp_path: Path) -> None:
    fg = fakegraph_factory(resource_units=40, time_scale=0.02)
    throttled_items = count_batch_items(fg.fake, 429)
    add_faults(fg, [{"path": "^/users$", "fault": "429", "times": 5}])  # no Retry-After: backoff

    result, record = snapshot(fg, tmp_path / "repo", "--types", QUICK)

    assert result.exit_code == 0, result.stderr
    assert record["status"] == "complete"
    assert set(statuses(record).values()) == {"ok"}
    assert record["types"]["users"]["count"] == len(fg.store.sets["users"])
    assert record["types"]["groups"]["count"] == len(fg.store.sets["groups"])
    assert fg.fake.rules[0].times == 0  # every scripted 429 was served
    assert throttled_items[0] > 0  # the storm reached items inside $batch
    stats = record["stats"]
    assert stats["throttled"] >= 5 + throttled_items[0]
    assert stats["retries"] > 0
    assert stats["waitSeconds"] > 0


# --- 2. 5xx and dropped connections -----------------------------------------------------------------


def test_errors_and_drops_give_the_same_snapshot_as_a_clean_run(
    fakegraph_factory: Factory, tmp_path: Path
) -> None:
    clean_fg = fakegraph_factory(time_scale=0.01)
    clean_result, clean = snapshot(clean_fg, tmp_path / "clean", "--types", QUICK)
    assert clean_result.exit_code == 0, clean_result.stderr

    fg = fakegraph_factory(time_scale=0.01, error_rate=0.08, drop_rate=0.08, fault_seed=3)
    add_faults(
        fg,
        [
            {"path": "^/users$", "fault": "503", "times": 2},
            {"path": "^/users$", "fault": "drop", "times": 2},
            {"path": r"^/\$batch$", "fault": "drop", "times": 3},
            {"path": r"^/\$batch$", "fault": "502", "times": 3},
        ],
    )
    result, record = snapshot(fg, tmp_path / "faulty", "--types", QUICK)

    assert result.exit_code == 0, result.stderr
    assert record["status"] == "complete"
    assert [rule.times for rule in fg.fake.rules] == [0, 0, 0, 0]
    assert record["stats"]["retries"] >= 10
    assert counts(record) == counts(clean)
    # Same seed, same tenant: the data itself is identical, chunk for chunk.
    assert contents(tmp_path / "faulty", record) == contents(tmp_path / "clean", clean)


def test_faults_while_paging_group_members(fakegraph_factory: Factory, tmp_path: Path) -> None:
    """Members read in small pages (nextLinks sent in $batch, round by round), with faults on those batches."""
    fg = fakegraph_factory(time_scale=0.01)
    types = catalog.resolve(["groups"])

    def run(store: Path) -> dict[str, Any]:
        async def go() -> dict[str, Any]:
            async with GraphClient(fg.url, _StaticTokens(), backoff_scale=0.05) as client:
                repository = Repository.open(LocalBackend(store), create=True)
                outcome = await take_snapshot(
                    client, repository, types, tenant_hint=fg.tenant_id, options=Options(child_page_size=3)
                )
            return outcome.record.data

        return asyncio.run(go())

    clean = run(tmp_path / "clean")
    add_faults(
        fg,
        [
            {"path": r"^/\$batch$", "fault": "drop", "times": 4},
            {"path": r"^/\$batch$", "fault": "503", "times": 4},
        ],
    )
    fg.fake.apply_settings({"error_rate": 0.05, "drop_rate": 0.05, "fault_seed": 11})
    faulty = run(tmp_path / "faulty")
    assert [rule.times for rule in fg.fake.rules] == [0, 0]
    assert faulty["status"] == clean["status"] == "complete"
    assert faulty["types"]["groups"]["children"]["members"] > 0
    assert counts(faulty) == counts(clean)
    assert contents(tmp_path / "faulty", faulty)["groups"] == contents(tmp_path / "clean", clean)["groups"]


class _StaticTokens:
    async def token(self, *, refresh: bool = False) -> str:
        return "any"


# --- 3. a token that expires mid-run ------------------------------------------------------------------


class TlsAndPlain(ServerThread):
    """One fake tenant served twice: over TLS (the sign-in authority; azure-identity wants https) and over
    plain HTTP (Graph)."""

    def __init__(self, fake: FakeGraph, pem: Path) -> None:
        super().__init__(fake)
        self.pem = pem
        self.tls_port = 0

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    async def _start(self) -> None:
        self._runner = web.AppRunner(build_app(self.fake), access_log=None)
        await self._runner.setup()
        plain = web.TCPSite(self._runner, self.host, 0)
        await plain.start()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.pem)
        tls = web.TCPSite(self._runner, self.host, 0, ssl_context=context)
        await tls.start()
        self.port = plain._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.tls_port = tls._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@pytest.fixture
def signin_fake(tmp_path: Path) -> Iterator[tuple[TlsAndPlain, Path]]:
    from test_graph_credentials import write_certificate

    cert, pem = write_certificate(tmp_path)
    fake = FakeGraph(generate("S", 1), Settings(token_lifetime=2.0, latency_ms=150, time_scale=1.0))
    server = TlsAndPlain(fake, pem).start()
    yield server, cert
    server.stop()


def run_cli_process(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrasnap.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ENTRASNAP_"))}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env.update(extra)
    return env


def test_client_secret_sign_in_renews_short_lived_tokens(
    signin_fake: tuple[TlsAndPlain, Path], tmp_path: Path
) -> None:
    """Client-secret sign-in at fakegraph's token endpoint (over TLS: azure-identity refuses http), tokens
    living 4 s, a run that outlives several of them: new tokens are fetched as the old ones run out."""
    server, cert = signin_fake
    fake = server.fake
    fake.apply_settings({"token_lifetime": 4.0, "latency_ms": 500.0})  # a run that outlives tokens
    httpx.post(
        f"{server.url}/_fakegraph/clients",
        json={"clientId": "snap-app", "secret": "s3cret", "roles": fake.all_permissions()},
    ).raise_for_status()
    issued: list[float] = []
    original = fake.token

    def token(*args: Any, **kwargs: Any) -> Any:
        issued.append(time.monotonic())
        return original(*args, **kwargs)

    fake.token = token  # type: ignore[method-assign]
    started = time.monotonic()
    done = run_cli_process(
        [
            "snapshot",
            "--auth",
            "client-secret",
            "--client-id",
            "snap-app",
            "--tenant",
            fake.store.tenant_id,
            "--authority",
            server.authority,
            "--graph-url",
            server.url,
            "--store",
            str(tmp_path / "repo"),
            "--types",
            "users,groups,directoryRoles,administrativeUnits,policies",
            "--concurrency",
            "2",
            "--json",
        ],
        clean_env(tmp_path, AZURE_CLIENT_SECRET="s3cret", SSL_CERT_FILE=str(cert)),
    )
    record = json.loads(done.stdout)
    assert done.returncode == 0, {
        k: i.get("error") for k, i in record["types"].items() if i["status"] != "ok"
    }
    assert record["status"] == "complete"
    assert time.monotonic() - started > 6  # outlived the first tokens
    assert len(issued) >= 2 and issued[-1] - issued[0] > 2  # renewed along the way
    assert record["types"]["users"]["count"] == len(fake.store.sets["users"])


class ExpiringThenFresh:
    """Hands out a fakegraph token that expires in about a second, then (on refresh) long-lived ones."""

    def __init__(self, tenant_id: str, roles: list[str]) -> None:
        self.tenant_id, self.roles = tenant_id, roles
        self.current = issue_token(tenant_id, roles, lifetime=1.0)
        self.refreshes = 0

    async def token(self, *, refresh: bool = False) -> str:
        if refresh:
            self.refreshes += 1
            self.current = issue_token(self.tenant_id, self.roles, lifetime=3600.0)
        return self.current


def test_token_expiring_mid_run_is_refreshed_after_401(fakegraph_factory: Factory, tmp_path: Path) -> None:
    """The 401-then-refresh path: the first token expires while the run is going (latency makes it last),
    Graph answers 401 InvalidAuthenticationToken, and the client asks for a fresh token and carries on."""
    fg = fakegraph_factory(latency_ms=250)
    tokens = ExpiringThenFresh(fg.tenant_id, fg.fake.all_permissions())
    types = catalog.resolve(["users", "groups", "policies"])

    async def go() -> Any:
        async with GraphClient(fg.url, tokens, max_concurrency=2) as client:
            repository = Repository.open(LocalBackend(tmp_path / "repo"), create=True)
            return await take_snapshot(client, repository, types, tenant_hint=fg.tenant_id)

    started = time.monotonic()
    outcome = asyncio.run(go())
    assert time.monotonic() - started > 2
    assert outcome.record.status == "complete", outcome.record.types
    assert tokens.refreshes >= 1
    assert outcome.record.types["users"]["count"] == len(fg.store.sets["users"])


# --- 4. missing permissions, 5. missing licences --------------------------------------------------------


def test_missing_permission_gives_forbidden_types_not_empty_ones(
    fakegraph_factory: Factory, tmp_path: Path
) -> None:
    fg = fakegraph_factory(time_scale=0.01)
    store = tmp_path / "repo"
    full_result, full = snapshot(fg, store)
    assert full_result.exit_code == 0, full_result.stderr
    held = [p for p in catalog.permissions(catalog.CATALOG) if p != "Policy.Read.All"]
    needing = {
        t.key
        for t in catalog.CATALOG
        if t.permission == "Policy.Read.All" or any(c.permission == "Policy.Read.All" for c in t.children)
    }

    result, record = snapshot(fg, store, token=fg.token(held))

    assert result.exit_code == 2, result.stderr
    assert record["status"] == "partial"
    assert record["parent"] == full["id"]
    forbidden = {k for k, status in statuses(record).items() if status == "forbidden"}
    # Types that need Policy.Read.All and accept no other permission held (a few also take Directory.Read.All).
    assert forbidden <= needing
    assert {"conditionalAccessPolicies", "namedLocations", "authorizationPolicy"} <= forbidden
    assert len(forbidden) >= 10
    assert all(statuses(record)[k] == "ok" for k in set(record["types"]) - forbidden)
    for key in forbidden:
        info = record["types"][key]
        assert info["error"]["permission"] == "Policy.Read.All"
        assert info["error"]["status"] == 403
        # Not a deletion of everything the previous snapshot held: the count is 0 *and* the status says why.
        assert info["count"] == 0 and "manifest" not in info
        assert full["types"][key]["status"] == "ok"
    assert any(full["types"][k]["count"] > 0 for k in forbidden)
    assert "Policy.Read.All" in result.stderr or "forbidden" in result.stderr  # the log names the failure
    listed = cli("list", "--store", store, "--json")
    assert listed.exit_code == 0, listed.stderr
    summaries = {s["id"]: s for s in json.loads(listed.stdout)}
    assert summaries[record["id"]]["status"] == "partial"
    assert summaries[record["id"]]["notOk"] == sorted(forbidden)
    assert summaries[full["id"]]["notOk"] == []


def test_unlicensed_pim_types_are_marked_unlicensed(fakegraph_factory: Factory, tmp_path: Path) -> None:
    fg = fakegraph_factory(licenses={"AAD_PREMIUM"}, time_scale=0.01)
    result, record = snapshot(fg, tmp_path / "repo", "--types", "users,pim")
    assert result.exit_code == 2, result.stderr
    assert record["status"] == "partial"
    # Eligibility and assignment schedules need P2; reading PIM's role management policies does not.
    schedules = {k for k in catalog.GROUPS["pim"] if k.endswith("Schedules")}
    assert len(schedules) == 4
    assert {k for k, s in statuses(record).items() if s == "unlicensed"} == schedules
    assert all(s == "ok" for k, s in statuses(record).items() if k not in schedules)
    assert {"users", "groups"} <= set(record["types"])
    for key in schedules:
        assert record["types"][key]["count"] == 0
        assert record["types"][key]["error"]["code"] == "AadPremiumLicenseRequired"


# --- 6. a run killed half way --------------------------------------------------------------------------


def test_killed_snapshot_leaves_no_half_snapshot_and_the_next_one_reuses_its_objects(
    fakegraph_factory: Factory, tmp_path: Path
) -> None:
    fg = fakegraph_factory(time_scale=0.01)
    store = tmp_path / "repo"
    Repository.init(LocalBackend(store), pack_size=16 * 1024)  # small packs: several written before the kill
    first_result, first = snapshot(fg, store, "--types", "users")
    assert first_result.exit_code == 0, first_result.stderr
    before = pack_keys(store)

    fg.fake.apply_settings({"latency_ms": 300, "time_scale": 1.0})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "entrasnap.cli",
            "snapshot",
            "--graph-url",
            fg.url,
            "--access-token",
            "any",
            "--tenant",
            fg.tenant_id,
            "--store",
            str(store),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(tmp_path),
    )
    try:
        deadline = time.monotonic() + 60
        while len(pack_keys(store) - before) < 3 and time.monotonic() < deadline:
            assert process.poll() is None, "the snapshot finished before it could be killed"
            time.sleep(0.05)
        assert process.poll() is None, "the snapshot finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    written_by_killed_run = pack_keys(store) - before
    assert len(written_by_killed_run) >= 3

    listed = cli("list", "--store", store, "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)] == [first["id"]]
    assert len(list((store / "snapshots").iterdir())) == 1
    repository = Repository.open(LocalBackend(store))
    blobs = {
        key: [h for h, _, _ in read_trailer((store / key).read_bytes(), PLAIN)]
        for key in written_by_killed_run
    }
    # A pack is written, then its index file: a kill between the two leaves one pack unindexed (prune's to
    # remove; its objects are written again). Every other pack is indexed and every object reads back.
    unindexed = [key for key, hashes in blobs.items() if any(repository.locate(h) is None for h in hashes)]
    assert len(unindexed) <= 1, unindexed
    packed = [h for key, hashes in blobs.items() if key not in unindexed for h in hashes]
    for h in packed:
        repository.get(h)  # raises on a damaged or truncated object

    fg.fake.apply_settings({"latency_ms": 0, "time_scale": 0.01})
    next_result, after = snapshot(fg, store)
    assert next_result.exit_code == 0, next_result.stderr
    assert after["status"] == "complete"
    assert after["parent"] == first["id"]
    assert after["stats"]["objectsReused"] >= len(packed) - 5
    listed = cli("list", "--store", store, "--json")
    assert [s["id"] for s in json.loads(listed.stdout)] == [first["id"], after["id"]]
