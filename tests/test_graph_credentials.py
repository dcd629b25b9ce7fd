"""Credentials: each kind built from explicit values, the token cache, and a real sign-in against fakegraph.

azure-identity only accepts https authorities, so the sign-in tests serve fakegraph's app over TLS with a
self-signed certificate made here (the ``fakegraph`` fixture serves plain HTTP).
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from azure.core.credentials import AccessToken
from azure.identity import DeviceCodeCredential
from azure.identity.aio import (
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from entrasnap.fakegraph.server import Client, FakeGraph, Settings, build_app
from entrasnap.fakegraph.tenant import generate
from entrasnap.graph import CLOUDS, GraphAuthenticationError, GraphClient, GraphRequestError
from entrasnap.graph.credentials import (
    CredentialConfigError,
    CredentialSettings,
    CredentialTokens,
    build_credential,
    token_provider,
)

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"


def write_certificate(directory: Path, password: bytes | None = None) -> tuple[Path, Path]:
    """A self-signed RSA certificate for 127.0.0.1: (certificate PEM, key + certificate PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    (directory / "cert.pem").write_bytes(cert_pem)
    (directory / "key-and-cert.pem").write_bytes(key_pem + cert_pem)
    return directory / "cert.pem", directory / "key-and-cert.pem"


# --- building each kind (no network) -------------------------------------------------------------


def test_client_secret_uses_the_cloud_authority() -> None:
    settings = CredentialSettings(
        "client-secret", tenant_id=TENANT, client_id=CLIENT, client_secret="s", cloud=CLOUDS["usgov"]
    )
    credential = build_credential(settings)
    assert isinstance(credential, ClientSecretCredential)
    assert credential._client._authority == "https://login.microsoftonline.us"
    assert token_provider(settings).scope == "https://graph.microsoft.us/.default"


def test_certificate_with_a_password(tmp_path: Path) -> None:
    _, pem = write_certificate(tmp_path, password=b"pw")
    settings = CredentialSettings(
        "certificate",
        tenant_id=TENANT,
        client_id=CLIENT,
        certificate_path=str(pem),
        certificate_password="pw",
    )
    assert isinstance(build_credential(settings), CertificateCredential)
    with pytest.raises(TypeError):  # without the password the encrypted key cannot be read
        build_credential(replace(settings, certificate_password=None))


def test_workload_identity_managed_identity_cli_and_device_code(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("federated")
    workload = build_credential(
        CredentialSettings(
            "workload-identity", tenant_id=TENANT, client_id=CLIENT, federated_token_file=str(token_file)
        )
    )
    assert isinstance(workload, WorkloadIdentityCredential)
    assert isinstance(
        build_credential(CredentialSettings("managed-identity", client_id=CLIENT)), ManagedIdentityCredential
    )
    assert isinstance(build_credential(CredentialSettings("azure-cli", tenant_id=TENANT)), AzureCliCredential)
    device = build_credential(CredentialSettings("device-code", tenant_id=TENANT, cloud=CLOUDS["china"]))
    assert isinstance(device, DeviceCodeCredential)
    assert device._authority == "https://login.chinacloudapi.cn"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"AZURE_CLIENT_SECRET": "s"}, ClientSecretCredential),
        ({"AZURE_CLIENT_CERTIFICATE_PATH": "CERT"}, CertificateCredential),
        ({"AZURE_FEDERATED_TOKEN_FILE": "/var/run/token"}, WorkloadIdentityCredential),
    ],
)
def test_environment_kind_reads_only_the_mapping_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: type
) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "from-the-process-environment")
    _, pem = write_certificate(tmp_path)
    values = {k: str(pem) if v == "CERT" else v for k, v in variables.items()}
    environment = {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT, **values}
    credential = build_credential(CredentialSettings("environment", environment=environment))
    assert isinstance(credential, expected)


def test_missing_values_are_named() -> None:
    with pytest.raises(CredentialConfigError, match="client_secret"):
        build_credential(CredentialSettings("client-secret", tenant_id=TENANT, client_id=CLIENT))
    with pytest.raises(CredentialConfigError, match="AZURE_CLIENT_SECRET"):
        build_credential(CredentialSettings("environment", environment={"AZURE_TENANT_ID": TENANT}))
    with pytest.raises(CredentialConfigError, match="choose one of"):
        build_credential(CredentialSettings("password"))


def test_clouds() -> None:
    assert {k: (c.graph, c.authority) for k, c in CLOUDS.items()} == {
        "global": ("https://graph.microsoft.com", "https://login.microsoftonline.com"),
        "usgov": ("https://graph.microsoft.us", "https://login.microsoftonline.us"),
        "usgov-dod": ("https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
        "china": ("https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    }


# --- the token cache -----------------------------------------------------------------------------


class CountingCredential:
    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self.scopes: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(f"token-{len(self.scopes)}", int(time.time() + self.lifetime))

    async def close(self) -> None:
        return None


async def test_tokens_are_cached_until_refresh_or_near_expiry() -> None:
    credential = CountingCredential(lifetime=3600)
    tokens = CredentialTokens(credential, "https://graph.microsoft.com/.default")  # type: ignore[arg-type]
    assert [await tokens.token(), await tokens.token()] == ["token-1", "token-1"]
    assert await tokens.token(refresh=True) == "token-2"
    assert credential.scopes == ["https://graph.microsoft.com/.default"] * 2
    credential.lifetime = 60  # inside the renewal margin: every call renews
    await tokens.token(refresh=True)
    assert await tokens.token() == "token-4"


# --- signing in against fakegraph over TLS -------------------------------------------------------


@dataclass
class TlsFake:
    url: str
    tenant_id: str
    ca_file: Path


@pytest.fixture
async def tls_fakegraph(tmp_path: Path) -> AsyncIterator[TlsFake]:
    cert, pem = write_certificate(tmp_path)
    fake = FakeGraph(generate("S", 1), Settings(throttling=False))
    fake.clients[CLIENT] = Client("s3cret", ["User.Read.All"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    runner = web.AppRunner(build_app(fake), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield TlsFake(f"https://127.0.0.1:{port}", fake.store.tenant_id, cert)
    await runner.cleanup()


def fake_settings(fake: TlsFake, secret: str) -> CredentialSettings:
    return CredentialSettings(
        "client-secret",
        tenant_id=fake.tenant_id,
        client_id=CLIENT,
        client_secret=secret,
        authority=fake.url,
        options={"connection_verify": str(fake.ca_file)},
    )


async def test_client_secret_signs_in_at_fakegraph_and_reads_graph(tls_fakegraph: TlsFake) -> None:
    tokens = token_provider(fake_settings(tls_fakegraph, "s3cret"))
    transport = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=tls_fakegraph.ca_file))
    try:
        async with GraphClient(tls_fakegraph.url, tokens, transport=transport) as client:
            users = await client.get("/v1.0/users", params={"$top": 3})
            with pytest.raises(GraphRequestError) as caught:  # the token holds only User.Read.All
                await client.get("/v1.0/identity/conditionalAccess/policies")
    finally:
        await tokens.aclose()
    assert len(users["value"]) == 3
    assert caught.value.status == 403


async def test_wrong_secret_fails_with_a_one_line_message(tls_fakegraph: TlsFake) -> None:
    tokens = token_provider(fake_settings(tls_fakegraph, "wrong"))
    try:
        with pytest.raises(GraphAuthenticationError) as caught:
            await tokens.token()
    finally:
        await tokens.aclose()
    assert caught.value.status == 401
    assert "AADSTS7000215" in str(caught.value)
    assert "\n" not in str(caught.value)
