"""Incremental snapshots: a read from the previous delta links equals a full read of the same state."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from entrasnap import catalog
from entrasnap.catalog.model import ResourceType
from entrasnap.cli.config import ConfigError, parse
from entrasnap.cli.main import app
from entrasnap.collect import Options
from entrasnap.fakegraph import mutate
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.services.snapshot import Outcome, take_snapshot
from entrasnap.store import LocalBackend, Repository

Factory = Callable[..., RunningFakeGraph]
TRACKED = [t for t in catalog.CATALOG if t.delta]
# The delta-capable types and one type scoped by groups (its parents come from kept and re-read groups).
TYPES = [*TRACKED, catalog.BY_KEY["groupEligibilitySchedules"]]


def repo(path: Path) -> Repository:
    return Repository.open(LocalBackend(path), create=True)


def take(
    fake: RunningFakeGraph,
    repository: Repository,
    types: Sequence[ResourceType] = TYPES,
    roles: list[str] | None = None,
    **options: Any,
) -> Outcome:
    async def run() -> Outcome:
        client = GraphClient(fake.url, StaticToken(fake.token(roles)))
        try:
            return await take_snapshot(
                client,
                repository,
                types,
                tenant_hint=fake.tenant_id,
                graph_url=fake.url,
                options=Options(**options),
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


def modes(outcome: Outcome) -> dict[str, tuple[str | None, str | None]]:
    return {r.key: (r.mode, r.reason) for r in outcome.results if r.mode}


def assert_same(a: Repository, ra: Outcome, b: Repository, rb: Outcome) -> None:
    """Object for object (identical record hashes: identical content, children included) and type entries."""
    for rtype in TYPES:
        got = list(a.named_entries(ra.record, rtype.key))
        want = list(b.named_entries(rb.record, rtype.key))
        assert got == want, f"{rtype.key}: {len(got)} vs {len(want)} entries differ"
        info_a, info_b = ra.record.types[rtype.key], rb.record.types[rtype.key]
        for field in ("status", "count", "children"):
            assert info_a.get(field) == info_b.get(field), (rtype.key, field)


def post(fake: RunningFakeGraph, path: str, body: dict[str, Any]) -> None:
    with fake.client() as client:
        response = client.post(path, json=body)
        assert response.status_code in (200, 201, 204), response.text


def ref(object_id: str) -> dict[str, str]:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"}


def hand_made_changes(fake: RunningFakeGraph, round_no: int) -> None:
    """Changes that churn does not make: owners, a credential object, AU and role membership, a deletion."""
    store = fake.store
    users = store.sets["users"].ids()
    user = users[(round_no * 7) % len(users)]
    group = store.sets["groups"].ids()[round_no % len(store.sets["groups"])]
    app_id = store.sets["applications"].ids()[round_no % len(store.sets["applications"])]
    sp = store.sets["servicePrincipals"].ids()[round_no % len(store.sets["servicePrincipals"])]
    unit = store.sets["directory/administrativeUnits"].ids()[0]
    role = store.sets["directoryRoles"].ids()[0]
    for path in (f"/v1.0/groups/{group}/owners/$ref", f"/v1.0/applications/{app_id}/owners/$ref"):
        post(fake, path, ref(user))
    post(fake, f"/v1.0/servicePrincipals/{sp}/owners/$ref", ref(user))
    post(fake, f"/v1.0/directory/administrativeUnits/{unit}/members/$ref", ref(users[round_no]))
    post(fake, f"/v1.0/directoryRoles/{role}/members/$ref", ref(users[round_no + 1]))
    post(
        fake,
        f"/v1.0/applications/{app_id}/federatedIdentityCredentials",
        {
            "name": f"ci-{round_no}",
            "issuer": "https://token.actions.githubusercontent.com",
            "subject": f"repo:contoso/app:ref:refs/heads/r{round_no}",
            "audiences": ["api://AzureADTokenExchange"],
        },
    )
    mutate.apply(store, {"action": "rename", "id": group, "displayName": f"Renamed group {round_no}"})
    mutate.apply(store, {"action": "delete", "id": users[-1 - round_no]})


def test_incremental_equals_full_after_random_mutations(fakegraph_factory: Factory, tmp_path: Path) -> None:
    fake = fakegraph_factory(throttling=False)
    incremental, full = repo(tmp_path / "incremental"), repo(tmp_path / "full")
    first = take(fake, incremental)
    assert {m for m, _ in modes(first).values()} == {"full"}
    for round_no, seed in enumerate((11, 12, 13)):
        mutate.apply(fake.store, {"action": "churn", "percent": 5, "seed": seed})
        hand_made_changes(fake, round_no)
        mutate.apply(fake.store, {"action": "churn", "percent": 2, "seed": seed * 100})
        inc = take(fake, incremental)
        ref_snapshot = take(fake, full, full=True)
        assert modes(inc) == {t.key: ("incremental", "delta") for t in TRACKED}
        assert {m for m, _ in modes(ref_snapshot).values()} == {"full"}
        assert sum(r.changed for r in inc.results) > 0
        assert_same(incremental, inc, full, ref_snapshot)
        # kept devices' owners and users come from one ids-only $expand pass, not two requests per device
        devices = next(r for r in inc.results if r.key == "devices")
        assert devices.requests < len(fake.store.sets["devices"]) // 2
        state = inc.record.types["users"]["delta"]
        assert (
            state["mode"] == "incremental" and state["full"] == first.record.types["users"]["delta"]["full"]
        )
        assert "$deltatoken=" in state["link"] and state["shape"]


@pytest.mark.parametrize("expiry", ["ttl", "reset"])
def test_expired_delta_link_falls_back_to_a_full_read(
    fakegraph_factory: Factory, tmp_path: Path, expiry: str
) -> None:
    fake = fakegraph_factory(throttling=False)
    incremental, full = repo(tmp_path / "incremental"), repo(tmp_path / "full")
    take(fake, incremental)
    mutate.apply(fake.store, {"action": "churn", "percent": 5, "seed": 5})
    engine = fake.fake.engine
    if expiry == "ttl":
        engine.delta_token_ttl = 0.0  # 400 syncStateNotFound
    else:
        engine.delta_reset_at = time.time() + 1  # 410 resyncRequired
    inc = take(fake, incremental)
    assert inc.record.status == "complete"
    assert modes(inc) == {t.key: ("full", "expired") for t in TRACKED}
    engine.delta_token_ttl, engine.delta_reset_at = 3600.0, 0.0
    assert_same(incremental, inc, full, take(fake, full, full=True))


def test_full_read_when_previous_type_failed_forced_interval_or_shape(
    fakegraph_factory: Factory, tmp_path: Path
) -> None:
    fake = fakegraph_factory(throttling=False)
    repository = repo(tmp_path / "repo")
    everything_but_users = sorted(set(catalog.permissions(TYPES)) - {"User.Read.All", "Directory.Read.All"})
    first = take(fake, repository, roles=everything_but_users)
    assert first.record.types["users"]["status"] == "forbidden"
    assert "delta" not in first.record.types["users"]
    second = take(fake, repository)
    assert modes(second)["users"] == ("full", "previous-status")
    assert modes(second)["groups"] == ("incremental", "delta")
    assert modes(take(fake, repository, full=True))["groups"] == ("full", "forced")
    assert modes(take(fake, repository, full_every=timedelta(0)))["groups"] == ("full", "interval")
    users = catalog.BY_KEY["users"]
    assert users.select is not None
    narrower = [dataclasses.replace(users, select=users.select[:-1])]
    assert modes(take(fake, repository, narrower))["users"] == ("full", "shape")
    assert modes(take(fake, repository, narrower))["users"] == ("incremental", "delta")
    cloud = take(fake, repository, [users], cloud_only=True)
    assert modes(cloud)["users"] == ("full", "scope")


def test_cli_full_and_full_every(fakegraph_factory: Factory, tmp_path: Path) -> None:
    fake = fakegraph_factory(throttling=False)
    runner = CliRunner()

    def cli(*extra: str) -> dict[str, Any]:
        args = ["snapshot", "--graph-url", fake.url, "--access-token", "t", "--tenant", fake.tenant_id]
        args += ["--store", str(tmp_path / "repo"), "--types", "users,directoryRoles", "--json", *extra]
        result = runner.invoke(app, args, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
        assert result.exit_code == 0, result.stderr
        record: dict[str, Any] = json.loads(result.stdout)
        return {key: info["delta"]["mode"] for key, info in record["types"].items()}

    assert cli() == {"users": "full", "directoryRoles": "full"}
    assert cli() == {"users": "incremental", "directoryRoles": "incremental"}
    assert cli("--full") == {"users": "full", "directoryRoles": "full"}
    assert cli("--full-every", "0") == {"users": "full", "directoryRoles": "full"}
    assert cli("--full-every", "3") == {"users": "incremental", "directoryRoles": "incremental"}


def test_config_full_every_days() -> None:
    config = parse({"defaults": {"full_every_days": 3}, "tenant": {"a": {}, "b": {"full_every_days": 0.5}}})
    assert config.tenants["a"].full_every_days == 3
    assert config.tenants["b"].full_every_days == 0.5
    with pytest.raises(ConfigError, match="full_every_days"):
        parse({"tenant": {"a": {"full_every_days": "weekly"}}})
