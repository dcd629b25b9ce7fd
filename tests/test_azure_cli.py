"""``--store`` on Azure Blob (Azurite): the same answers as on local disk, and one clear line for bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from typer.testing import CliRunner, Result

from azurite import ACCOUNT, KEY, Azurite, connection_string, free_port
from entrasnap.cli.main import app
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.store import StoreError
from entrasnap.store.location import open_backend
from test_snapshot_cli import one_error_line

runner = CliRunner()
CONNECTION = "AZURE_STORAGE_CONNECTION_STRING"
SAS = "AZURE_STORAGE_SAS_TOKEN"
pytestmark = pytest.mark.usefixtures("azure_env")


@pytest.fixture
def fake(fakegraph_factory: Callable[..., RunningFakeGraph]) -> RunningFakeGraph:
    """fakegraph S without pacing (the store, not Graph, is under test here)."""
    return fakegraph_factory(time_scale=0.02, throttling=False)


def cli(*args: object, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def run_snapshot(
    fg: RunningFakeGraph, store: object, *extra: str, env: dict[str, str] | None = None
) -> Result:
    return cli(
        "snapshot", "--graph-url", fg.url, "--access-token", fg.token(), "--tenant", fg.tenant_id,
        "--store", store, "--json", *extra, env=env,
    )  # fmt: skip


def failed_in_one_line(result: Result, *needles: str) -> str:
    """A failed snapshot: progress lines, then one ``error:`` line last; no traceback."""
    assert result.exit_code == 1, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: "), result.stderr
    assert sum(line.startswith("error") for line in lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


def take_snapshot(fg: RunningFakeGraph, store: object, *extra: str) -> dict[str, Any]:
    result = run_snapshot(fg, store, *extra)
    assert result.exit_code == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout)
    return record


def summary(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (i["status"], i.get("count"), i.get("children")) for k, i in record["types"].items()}


def normalised(text: str, records: list[dict[str, Any]]) -> str:
    """Output with this store's snapshot ids and times replaced, to compare two stores' answers."""
    for n, record in enumerate(records):
        for key in ("id", "started", "finished"):
            text = text.replace(record[key], f"<{key}{n}>")
        text = text.replace(record["id"][:12], f"<id{n}>")
    return re.sub(r"\d+\.\d+s\b", "<seconds>", text)


def answers(fg: RunningFakeGraph, store: object) -> list[str]:
    listing = cli("list", "--store", store, "--json")
    assert listing.exit_code == 0, listing.stderr
    records = json.loads(listing.stdout)
    user_id, group_id = fg.store.sets["users"].ids()[0], fg.store.sets["groups"].ids()[0]
    user = cli("show", "users", user_id, "--store", store, "--json")
    group = cli("show", "groups", group_id, "--store", store, "--json")
    diff = cli("diff", "latest", "latest", "--store", store, "--format", "json")
    history = cli("history", "users", user_id, "--store", store, "--json")
    for result in (user, group, diff, history):
        assert result.exit_code == 0, result.stderr
    return [normalised(r.stdout, records) for r in (listing, user, group, diff, history)]


def test_snapshot_on_azurite_answers_like_local_disk(
    fake: RunningFakeGraph, azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """az:// with AZURE_STORAGE_CONNECTION_STRING (its BlobEndpoint points at Azurite): list, show,
    history and diff give the same answers as the same snapshot on local disk."""
    monkeypatch.setenv(CONNECTION, azurite.connection_string)
    remote = f"az://{ACCOUNT}/{azurite.new_container()}/tenants/contoso"
    local = tmp_path / "local"
    on_azure, on_disk = take_snapshot(fake, remote), take_snapshot(fake, local)
    assert summary(on_azure) == summary(on_disk)
    assert sum(i.get("count", 0) for i in on_azure["types"].values()) > 100
    remote_answers, local_answers = answers(fake, remote), answers(fake, local)
    assert '"displayName"' in remote_answers[1]
    assert remote_answers == local_answers
    # Another snapshot into the same container meets stored objects: create-only writes skip them.
    take_snapshot(fake, remote, "--types", "users,groups")
    assert len(json.loads(cli("list", "--store", remote, "--json").stdout)) == 2


def test_sas_token_and_https_path_style_store(
    fake: RunningFakeGraph, azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = azurite.new_container()
    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(
            read=True, add=True, create=True, write=True, delete=True, list=True
        ),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    monkeypatch.setenv(SAS, sas)
    store = f"{azurite.endpoint}/{container}"
    record = take_snapshot(fake, store, "--types", "users,groups")
    listing = cli("list", "--store", store, "--json")
    assert [r["id"] for r in json.loads(listing.stdout)] == [record["id"]]
    # Read-only SAS: reading works, writing a snapshot is refused in one line naming the SAS.
    monkeypatch.setenv(
        SAS,
        generate_container_sas(
            ACCOUNT,
            container,
            account_key=KEY,
            permission=ContainerSasPermissions(read=True, list=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        ),
    )
    assert cli("list", "--store", store, "--json").exit_code == 0
    refused = run_snapshot(fake, store, "--types", "users,groups,applications")
    failed_in_one_line(refused, "refused access with the SAS token", "sp=racwdl")


# --- bad input: one clear line, non-zero exit, no traceback --------------------------------------------


@pytest.mark.parametrize("store", ["s3://bucket/repo", "ftp://host/repo", "gs://bucket"])
def test_unknown_scheme(store: str) -> None:
    one_error_line(cli("list", "--store", store), f"unsupported store {store!r}", "az://ACCOUNT/CONTAINER")


@pytest.mark.parametrize(
    ("store", "needle"),
    [
        ("az://Bad_Account/c1c", "invalid storage account name"),
        ("az://acct", "names no container"),
        ("az://acct/UPPER", "invalid container name"),
        ("https://example.com/container/x", "example.com is not a blob endpoint"),
    ],
)
def test_malformed_azure_stores(store: str, needle: str) -> None:
    one_error_line(cli("list", "--store", store, env={SAS: "sv=x&sig=y"}), needle)


def test_missing_container(fake: RunningFakeGraph, azurite: Azurite) -> None:
    env = {CONNECTION: azurite.connection_string}
    needles = (
        "container absent-one does not exist in storage account devstoreaccount1",
        "az storage container",
    )
    one_error_line(cli("list", "--store", f"az://{ACCOUNT}/absent-one", env=env), *needles)
    failed_in_one_line(run_snapshot(fake, f"az://{ACCOUNT}/absent-one/prefix", env=env), *needles)


def test_wrong_account_key(azurite: Azurite) -> None:
    wrong = connection_string(azurite.port, key="d3JvbmcgYnV0IHdlbGwtZm9ybWVkIGtleQ==")
    result = cli("list", "--store", f"az://{ACCOUNT}/{azurite.new_container()}", env={CONNECTION: wrong})
    one_error_line(result, "refused access with the connection string (account key)", "account name and key")


def test_bad_sas_token(azurite: Azurite) -> None:
    bogus = "sv=2021-08-06&sr=c&sp=racwdl&se=2099-01-01T00:00:00Z&sig=bm90IGEgc2lnbmF0dXJl"
    result = cli("list", "--store", f"{azurite.endpoint}/{azurite.new_container()}", env={SAS: bogus})
    one_error_line(result, "refused access with the SAS token")


def test_connection_string_for_another_account(azurite: Azurite) -> None:
    result = cli("list", "--store", "az://otheraccount/repo", env={CONNECTION: azurite.connection_string})
    one_error_line(result, "connection string is for storage account devstoreaccount1", "otheraccount")
    elsewhere = f"http://127.0.0.1:{free_port()}/{ACCOUNT}/repo"
    one_error_line(
        cli("list", "--store", elsewhere, env={CONNECTION: azurite.connection_string}), "names blob endpoint"
    )


def test_unreachable_endpoint() -> None:
    port = free_port()
    env = {CONNECTION: connection_string(port)}
    result = cli("list", "--store", f"az://{ACCOUNT}/repo", env=env)
    one_error_line(result, f"cannot reach storage account {ACCOUNT}", f"127.0.0.1:{port}")


def test_credential_that_cannot_sign_in_names_the_credential() -> None:
    """A Microsoft Entra credential that gets no token (as with no managed identity and no az login):
    one StoreError naming the credential, before any request is sent."""

    class NoToken:  # stands in for DefaultAzureCredential on a machine without any identity
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

        def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
            return self.get_token(*scopes)

    backend = open_backend(f"https://127.0.0.1:{free_port()}/{ACCOUNT}/repo", credential=NoToken())
    with pytest.raises(StoreError, match="no usable Microsoft Entra credential for storage account"):
        backend.read("config.json")
