"""``--store`` text → where the repository is, and which credential the environment supplies."""

from __future__ import annotations

from pathlib import Path

import pytest

from azurite import ACCOUNT, KEY, Azurite, connection_string
from entrasnap.cli.store_option import open_store
from entrasnap.store import LocalBackend, StoreError
from entrasnap.store.azure import AzureBlobBackend
from entrasnap.store.location import AzureLocation, open_backend, parse


@pytest.mark.parametrize(
    ("text", "account", "container", "prefix", "endpoint"),
    [
        ("az://acct/repo", "acct", "repo", "", "https://acct.blob.core.windows.net"),
        ("az://acct/repo/tenants/contoso/", "acct", "repo", "tenants/contoso", "https://acct.blob.core.windows.net"),
        ("https://acct.blob.core.windows.net/repo/p", "acct", "repo", "p", "https://acct.blob.core.windows.net"),
        ("https://acct.blob.core.usgovcloudapi.net/repo", "acct", "repo", "", "https://acct.blob.core.usgovcloudapi.net"),
        ("https://acct.blob.core.chinacloudapi.cn/repo", "acct", "repo", "", "https://acct.blob.core.chinacloudapi.cn"),
        ("http://127.0.0.1:10000/devstoreaccount1/repo/x", ACCOUNT, "repo", "x", f"http://127.0.0.1:10000/{ACCOUNT}"),
        ("http://localhost:10000/devstoreaccount1/repo", ACCOUNT, "repo", "", f"http://localhost:10000/{ACCOUNT}"),
    ],
)  # fmt: skip
def test_azure_forms(text: str, account: str, container: str, prefix: str, endpoint: str) -> None:
    where = parse(text)
    assert isinstance(where, AzureLocation)
    assert (where.account, where.container, where.prefix, where.endpoint) == (
        account,
        container,
        prefix,
        endpoint,
    )
    assert where.sas is None


def test_local_forms(tmp_path: Path) -> None:
    assert parse(str(tmp_path)) == tmp_path
    assert parse(f"file://{tmp_path}") == tmp_path
    assert parse("~/repo") == Path.home() / "repo"
    assert isinstance(open_store(str(tmp_path / "r"), {}), LocalBackend)


def test_sas_in_the_url_is_used_and_never_shown() -> None:
    where = parse("https://acct.blob.core.windows.net/repo?sv=2022&sig=secret")
    assert isinstance(where, AzureLocation) and where.sas == "sv=2022&sig=secret"
    assert "secret" not in where.display
    backend = open_backend("https://acct.blob.core.windows.net/repo?sv=2022&sig=secret")
    assert isinstance(backend, AzureBlobBackend) and backend.auth == "SAS token"
    assert "secret" not in str(backend)


def test_environment_picks_the_credential(azurite: Azurite) -> None:
    store = f"az://{ACCOUNT}/{azurite.new_container()}"
    env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    backend = open_store(store, env)
    assert isinstance(backend, AzureBlobBackend) and backend.auth == "connection string (account key)"
    assert backend.create("k", b"v") and backend.read("k") == b"v"
    # An account key with the Azurite endpoint: path-style store, AZURE_STORAGE_KEY (+ ACCOUNT).
    path_style = f"{azurite.endpoint}/{store.rsplit('/', 1)[1]}"
    keyed = open_store(path_style, {"AZURE_STORAGE_KEY": KEY, "AZURE_STORAGE_ACCOUNT": ACCOUNT})
    assert isinstance(keyed, AzureBlobBackend) and keyed.auth == "account key"
    assert keyed.read("k") == b"v"
    with pytest.raises(StoreError, match="AZURE_STORAGE_KEY is the key of AZURE_STORAGE_ACCOUNT=other"):
        open_store(path_style, {"AZURE_STORAGE_KEY": KEY, "AZURE_STORAGE_ACCOUNT": "other"})


def test_connection_string_rules() -> None:
    sas_only = f"BlobEndpoint=http://127.0.0.1:1/{ACCOUNT};SharedAccessSignature=sv=x&sig=y"
    backend = open_backend(f"az://{ACCOUNT}/repo", connection_string=sas_only)
    assert isinstance(backend, AzureBlobBackend) and backend.auth == "connection string (SAS)"
    with pytest.raises(StoreError, match="expected NAME=VALUE pairs"):
        open_backend("az://acct/repo", connection_string="not a connection string")
    suffix = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn"
    assert open_backend("https://acct.blob.core.chinacloudapi.cn/repo", connection_string=suffix)
    with pytest.raises(StoreError, match=r"names blob endpoint https://acct\.blob\.core\.chinacloudapi\.cn"):
        open_backend("https://acct.blob.core.windows.net/repo", connection_string=suffix)
    with pytest.raises(StoreError, match="is for storage account devstoreaccount1"):
        open_backend("az://acct/repo", connection_string=connection_string(1))
    with pytest.raises(StoreError, match="no credential for az://acct/repo"):
        open_backend("az://acct/repo")
