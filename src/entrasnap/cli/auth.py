"""Choosing how to sign in, from flags, the config file and the usual AZURE_* environment variables."""

from __future__ import annotations

import base64
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from entrasnap.cli.config import AuthChoice, ConfigError, TenantConfig

if TYPE_CHECKING:
    from entrasnap.graph import TokenProvider


def default_kind(environ: dict[str, str]) -> str:
    """What Azure tools pick with no explicit choice: environment credentials, managed identity, Azure CLI."""
    if any(
        environ.get(v)
        for v in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")
    ):
        return "environment"
    if environ.get("IDENTITY_ENDPOINT") or environ.get("MSI_ENDPOINT"):
        return "managed-identity"
    return "azure-cli"


def _device_prompt(uri: str, code: str, expires: datetime) -> None:
    print(f"To sign in, open {uri} and enter the code {code} (expires {expires:%H:%M}).", file=sys.stderr)


def token_provider(
    tenant: TenantConfig,
    *,
    environ: dict[str, str],
    access_token: str | None = None,
    auth: AuthChoice | None = None,
    client_id: str | None = None,
    certificate: Path | None = None,
    cloud: str = "global",
    graph_url: str | None = None,
    authority: str | None = None,
) -> TokenProvider:
    """A TokenProvider for the chosen sign-in; secrets come from the environment, never from logs."""
    # The graph layer and azure-identity are slow to import: only commands that sign in pay for them.
    from entrasnap.graph import CLOUDS, StaticToken
    from entrasnap.graph.credentials import CredentialConfigError, CredentialSettings
    from entrasnap.graph.credentials import token_provider as credential

    token = access_token or (environ.get(tenant.access_token_env) if tenant.access_token_env else None)
    if token:
        return StaticToken(token.strip())
    kind = auth.value if auth else (tenant.auth or default_kind(environ))
    if kind == "access-token":
        raise ConfigError(
            f'[tenant.{tenant.name}] uses auth = "access-token": pass --access-token or set '
            f"{tenant.access_token_env or 'ENTRASNAP_ACCESS_TOKEN'}"
        )
    secret = None
    if tenant.client_secret_env:
        secret = environ.get(tenant.client_secret_env)
        if not secret:
            raise ConfigError(
                f"[tenant.{tenant.name}] reads its client secret from ${tenant.client_secret_env}, "
                "which is not set"
            )
    secret = secret or tenant.client_secret or environ.get("AZURE_CLIENT_SECRET")
    password = environ.get(tenant.certificate_password_env) if tenant.certificate_password_env else None
    if certificate is not None and kind == "environment":
        kind = "certificate"
    settings = CredentialSettings(
        kind=kind,
        tenant_id=tenant.tenant_id or environ.get("AZURE_TENANT_ID"),
        client_id=client_id
        or tenant.client_id
        or tenant.managed_identity_client_id
        or environ.get("AZURE_CLIENT_ID"),
        client_secret=secret,
        certificate_path=str(certificate)
        if certificate
        else (tenant.certificate_path or environ.get("AZURE_CLIENT_CERTIFICATE_PATH")),
        certificate_password=password or environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD"),
        federated_token_file=tenant.federated_token_file or environ.get("AZURE_FEDERATED_TOKEN_FILE"),
        cloud=CLOUDS[cloud],
        authority=authority,
        environment={k: v for k, v in environ.items() if k.startswith("AZURE_")},
        device_prompt=_device_prompt,
    )
    try:
        return credential(settings)
    except CredentialConfigError as exc:
        raise ConfigError(str(exc)) from exc


def token_claims(token: str) -> dict[str, object]:
    """The claims of a Graph access token, read without verifying it (Graph does that)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise ConfigError("the access token is not a JWT; cannot read its claims")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError as exc:
        raise ConfigError("the access token's claims cannot be read") from exc
    return claims if isinstance(claims, dict) else {}


def token_roles(token: str) -> list[str]:
    """The application permissions (``roles`` claim) of a Graph access token."""
    roles = token_claims(token).get("roles", [])
    return [str(r) for r in roles] if isinstance(roles, list) else []


def token_tenant(token: str) -> str | None:
    """The tenant (``tid`` claim) a Graph access token was issued for, if it says."""
    try:
        tid = token_claims(token).get("tid")
    except ConfigError:
        return None
    return str(tid) if tid else None
