"""The configuration file: one ``[tenant.NAME]`` table per tenant so daily runs need no flags.

Looked for at ``--config``, then ``$ENTRASNAP_CONFIG``, then ``~/.config/entrasnap/config.toml``.
Secrets are referenced by environment variable name (``client_secret_env``) or file; a secret in
clear (``client_secret``) is refused unless ``allow_plaintext_secret = true`` is set beside it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any


class AuthChoice(str, Enum):
    """Ways to sign in (the graph layer's credential kinds; a test keeps them in step)."""

    client_secret = "client-secret"
    certificate = "certificate"
    managed_identity = "managed-identity"
    workload_identity = "workload-identity"
    azure_cli = "azure-cli"
    device_code = "device-code"
    environment = "environment"


AUTH_KINDS = ("access-token", *(choice.value for choice in AuthChoice))
CLOUDS = ("global", "usgov", "usgov-dod", "china")  # entrasnap.graph.clouds.CLOUDS; a test keeps them in step


class ConfigError(Exception):
    """A configuration problem, explained in one line."""


@dataclass
class TenantConfig:
    name: str
    tenant_id: str | None = None
    auth: str | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret: str | None = None
    allow_plaintext_secret: bool = False
    certificate_path: str | None = None
    certificate_password_env: str | None = None
    managed_identity_client_id: str | None = None
    federated_token_file: str | None = None
    access_token_env: str | None = None
    cloud: str = "global"
    graph_url: str | None = None
    authority: str | None = None
    store: str | None = None
    types: list[str] = field(default_factory=list)
    exclude_types: list[str] = field(default_factory=list)
    cloud_only: bool = False
    full_every_days: float = 7.0  # delta-capable types are read in full at least this often


@dataclass
class Config:
    path: Path | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    tenants: dict[str, TenantConfig] = field(default_factory=dict)


def default_path(environ: dict[str, str]) -> Path:
    if environ.get("ENTRASNAP_CONFIG"):
        return Path(environ["ENTRASNAP_CONFIG"])
    base = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "entrasnap" / "config.toml"


def load(path: Path | None, environ: dict[str, str] | None = None) -> Config:
    """Read the config file; a missing default file is an empty config, a missing named file an error."""
    env = dict(os.environ if environ is None else environ)
    explicit = path is not None or bool(env.get("ENTRASNAP_CONFIG"))
    chosen = path or default_path(env)
    if not chosen.exists():
        if explicit:
            raise ConfigError(f"config file {chosen} does not exist")
        return Config()
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {chosen}: {exc.strerror or exc}") from exc
    return parse(data, chosen)


def parse(data: dict[str, Any], path: Path | None = None) -> Config:
    where = str(path) if path else "config"
    unknown = set(data) - {"defaults", "tenant"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown section(s) {', '.join(sorted(unknown))}; use [defaults] and [tenant.NAME]"
        )
    config = Config(path=path, defaults=dict(data.get("defaults", {})))
    known_keys = {f.name for f in fields(TenantConfig)} - {"name"}
    if set(config.defaults) - known_keys:
        raise ConfigError(
            f"{where}: [defaults] has unknown key(s) {', '.join(sorted(set(config.defaults) - known_keys))}"
        )
    tenants = data.get("tenant", {})
    if not isinstance(tenants, dict):
        raise ConfigError(f"{where}: 'tenant' must be tables like [tenant.contoso]")
    known = {f.name for f in fields(TenantConfig)} - {"name"}
    for name, table in tenants.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [tenant.{name}] must be a table")
        merged = {**config.defaults, **table}
        bad = set(merged) - known
        if bad:
            raise ConfigError(f"{where}: [tenant.{name}] has unknown key(s) {', '.join(sorted(bad))}")
        tenant = TenantConfig(name=name, **merged)
        validate(tenant, where)
        config.tenants[name] = tenant
    return config


def validate(tenant: TenantConfig, where: str) -> None:
    label = f"{where}: [tenant.{tenant.name}]"
    if tenant.auth is not None and tenant.auth not in AUTH_KINDS:
        raise ConfigError(f"{label}: auth must be one of {', '.join(AUTH_KINDS)}, not {tenant.auth!r}")
    if tenant.cloud not in CLOUDS:
        raise ConfigError(f"{label}: cloud must be one of {', '.join(CLOUDS)}, not {tenant.cloud!r}")
    if tenant.client_secret and not tenant.allow_plaintext_secret:
        raise ConfigError(
            f'{label}: a client secret in clear is refused; use client_secret_env = "VAR" '
            "(or set allow_plaintext_secret = true if you must)"
        )
    days = tenant.full_every_days
    if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
        raise ConfigError(f"{label}: full_every_days must be a number of days (0 or more)")
    for list_key in ("types", "exclude_types"):
        value = getattr(tenant, list_key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{label}: {list_key} must be a list of catalog keys or groups")
