"""Sign-in: an azure-identity credential for Graph, built from explicit values, as a TokenProvider.

This module never reads the environment or config files: the CLI does, and passes the values here (for
``kind="environment"`` it passes the ``AZURE_*`` variables as a mapping). Managed and workload identity
are the exception only in that azure-identity itself detects the hosting environment (e.g. the managed
identity endpoint) when it asks for a token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DeviceCodeCredential
from azure.identity.aio import (
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)

from entrasnap.graph.clouds import CLOUDS, Cloud
from entrasnap.graph.errors import GraphAuthenticationError

KINDS = (
    "client-secret",
    "certificate",
    "managed-identity",
    "workload-identity",
    "azure-cli",
    "device-code",
    "environment",
)
EXPIRY_MARGIN = 300.0  # seconds before expiry at which a cached token is renewed

DevicePrompt = Callable[[str, str, datetime], None]  # (verification uri, user code, expires on)


class CredentialConfigError(ValueError):
    """The values given cannot make the chosen credential (the message names what is missing)."""


@dataclass(frozen=True)
class CredentialSettings:
    """What to sign in with. ``authority`` overrides the cloud's (e.g. fakegraph); instance discovery is
    then disabled. ``environment`` holds the AZURE_* variables for ``kind="environment"``."""

    kind: str
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    federated_token_file: str | None = None
    cloud: Cloud = CLOUDS["global"]
    authority: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    device_prompt: DevicePrompt | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # passed to azure-identity (e.g. transport)


def from_environment(settings: CredentialSettings) -> CredentialSettings:
    """The concrete settings that the AZURE_* variables in ``settings.environment`` describe."""
    env = settings.environment
    common = replace(
        settings,
        tenant_id=env.get("AZURE_TENANT_ID") or settings.tenant_id,
        client_id=env.get("AZURE_CLIENT_ID") or settings.client_id,
        authority=env.get("AZURE_AUTHORITY_HOST") or settings.authority,
        environment={},
    )
    if env.get("AZURE_CLIENT_SECRET"):
        return replace(common, kind="client-secret", client_secret=env["AZURE_CLIENT_SECRET"])
    if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        return replace(
            common,
            kind="certificate",
            certificate_path=env["AZURE_CLIENT_CERTIFICATE_PATH"],
            certificate_password=env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD") or None,
        )
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return replace(
            common, kind="workload-identity", federated_token_file=env["AZURE_FEDERATED_TOKEN_FILE"]
        )
    raise CredentialConfigError(
        "environment credential: set AZURE_TENANT_ID and AZURE_CLIENT_ID with one of AZURE_CLIENT_SECRET, "
        "AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"
    )


def build_credential(settings: CredentialSettings) -> AsyncTokenCredential | TokenCredential:
    """The azure-identity credential for ``settings`` (async, except device code, which is sync only)."""
    s = from_environment(settings) if settings.kind == "environment" else settings
    options: dict[str, Any] = {"authority": s.authority or s.cloud.authority, **s.options}
    if s.authority:
        options["disable_instance_discovery"] = True
    if s.kind == "client-secret":
        tenant, client, secret = _need(s, "tenant_id", "client_id", "client_secret")
        return ClientSecretCredential(tenant, client, secret, **options)
    if s.kind == "certificate":
        tenant, client, path = _need(s, "tenant_id", "client_id", "certificate_path")
        if s.certificate_password is not None:
            options["password"] = s.certificate_password
        return CertificateCredential(tenant, client, path, **options)
    if s.kind == "workload-identity":
        tenant, client, path = _need(s, "tenant_id", "client_id", "federated_token_file")
        return WorkloadIdentityCredential(tenant_id=tenant, client_id=client, token_file_path=path, **options)
    if s.kind == "device-code":
        if s.device_prompt is not None:
            options["prompt_callback"] = s.device_prompt
        if s.client_id:
            options["client_id"] = s.client_id
        return DeviceCodeCredential(tenant_id=s.tenant_id, **options)
    if s.kind == "managed-identity":
        return ManagedIdentityCredential(client_id=s.client_id, **s.options)
    if s.kind == "azure-cli":
        return AzureCliCredential(tenant_id=s.tenant_id or "", **s.options)
    raise CredentialConfigError(f"unknown credential kind '{s.kind}'; choose one of {', '.join(KINDS)}")


def token_provider(settings: CredentialSettings) -> CredentialTokens:
    """A TokenProvider for Graph in ``settings.cloud`` (scope "{graph}/.default")."""
    return CredentialTokens(build_credential(settings), settings.cloud.scope, settings.kind)


class CredentialTokens:
    """TokenProvider over an azure-identity credential; keeps the token until shortly before it expires."""

    def __init__(
        self, credential: AsyncTokenCredential | TokenCredential, scope: str, kind: str = ""
    ) -> None:
        self.credential = credential
        self.scope = scope
        self.kind = kind or type(credential).__name__
        self._access: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def token(self, *, refresh: bool = False) -> str:
        async with self._lock:
            if refresh or self._access is None or self._access.expires_on - EXPIRY_MARGIN < time.time():
                self._access = await self._fetch()
            return self._access.token

    async def _fetch(self) -> AccessToken:
        try:
            if isinstance(self.credential, DeviceCodeCredential):  # sync only: run it off the event loop
                return await asyncio.to_thread(self.credential.get_token, self.scope)
            return await cast(AsyncTokenCredential, self.credential).get_token(self.scope)
        except ClientAuthenticationError as exc:
            detail = " ".join(str(exc.message or exc).split())
            raise GraphAuthenticationError(f"{self.kind} sign-in failed: {detail}") from exc

    async def aclose(self) -> None:
        if isinstance(self.credential, DeviceCodeCredential):
            self.credential.close()
        else:
            await cast(AsyncTokenCredential, self.credential).close()


def _need(settings: CredentialSettings, *names: str) -> tuple[str, ...]:
    values = tuple(getattr(settings, name) or "" for name in names)
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise CredentialConfigError(f"{settings.kind} credential needs {', '.join(missing)}")
    return values
