"""``--encryption-key REF``: where the operator's encryption key is, never the key itself.

A key given as a command-line argument would be visible to every user of the machine (process lists,
``/proc/*/cmdline``) and kept in shell history and CI logs, so the option names a place to read it:

- ``env:NAME``: the environment variable NAME holds the key;
- ``file:PATH``: the file holds the key (surrounding whitespace ignored);
- ``https://VAULT.vault.azure.net/secrets/NAME[/VERSION]``: an Azure Key Vault secret, read with
  azure-identity's DefaultAzureCredential (managed identity, workload identity, Azure CLI, ...).

Without the option, ``ENTRASNAP_ENCRYPTION_KEY`` is used when set: it holds the key itself (what a
scheduler's secret injection gives) or one of the references above. A key is 32 random bytes in base64.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer

from entrasnap.store.errors import StoreError

ENV = "ENTRASNAP_ENCRYPTION_KEY"
REFERENCE_HELP = (
    "Where the repository's encryption key is: env:NAME, file:PATH or an Azure Key Vault secret URL "
    f"(https://VAULT.vault.azure.net/secrets/NAME); default: ${ENV}. Never the key itself (docs/ENCRYPTION.md)."
)
KEY_OPTION: Any = typer.Option(None, "--encryption-key", metavar="REF", help=REFERENCE_HELP)
"""The shared option: ``encryption_key: str | None = KEY_OPTION``."""


@dataclass(frozen=True)
class VaultSecret:
    """An Azure Key Vault secret reference: the vault's URL, the secret's name and optional version."""

    vault_url: str
    name: str
    version: str | None


class KeyReferenceError(StoreError):
    """An --encryption-key reference that is malformed or cannot be read."""


def parse_vault_url(ref: str) -> VaultSecret:
    """``https://VAULT.vault.azure.net/secrets/NAME[/VERSION]`` (any cloud's vault host)."""
    parts = urlsplit(ref)
    segments = [s for s in parts.path.split("/") if s]
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.query
        or parts.fragment
        or len(segments) not in (2, 3)
        or segments[0] != "secrets"
    ):
        raise KeyReferenceError(
            f"not a Key Vault secret URL: {ref!r} (expected https://VAULT.vault.azure.net/secrets/NAME[/VERSION])"
        )
    version = segments[2] if len(segments) == 3 else None
    return VaultSecret(f"https://{parts.netloc}", segments[1], version)


SecretReader = Callable[[VaultSecret], str]


def read_vault_secret(secret: VaultSecret, credential: Any = None, **client_options: Any) -> str:
    """A Key Vault secret's value, signed in with ``credential`` (default: DefaultAzureCredential)."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.secrets import SecretClient

    own = credential is None
    if own:
        credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    try:
        with SecretClient(secret.vault_url, credential, **client_options) as client:
            return fetch_secret(client, secret)
    except ClientAuthenticationError:
        raise  # the CLI reports sign-in failures in one line
    except HttpResponseError as exc:
        reason = str(exc.reason or exc.message or exc).strip().splitlines()[0]
        raise KeyReferenceError(
            f"Key Vault {secret.vault_url}: cannot read secret {secret.name!r} ({exc.status_code} {reason})"
        ) from None
    except AzureError as exc:  # no connection, a timeout
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KeyReferenceError(f"Key Vault {secret.vault_url}: {reason}") from None
    finally:
        if own:
            credential.close()


def fetch_secret(client: Any, secret: VaultSecret) -> str:
    """The value of ``secret`` through a SecretClient (``get_secret(name, version)``)."""
    value = client.get_secret(secret.name, secret.version).value
    if not value:
        raise KeyReferenceError(f"Key Vault secret {secret.name!r} in {secret.vault_url} is empty")
    return str(value)


def is_reference(value: str) -> bool:
    return value.startswith(("env:", "file:", "https://", "http://"))


def resolve(ref: str, environ: Mapping[str, str], read_secret: SecretReader = read_vault_secret) -> bytes:
    """The key bytes a reference points at; StoreError (one line) when it cannot be read."""
    from entrasnap.store.keys import parse_key  # cryptography is slow to import: only when needed

    if ref.startswith("env:"):
        name = ref.removeprefix("env:")
        if not environ.get(name):
            raise KeyReferenceError(f"--encryption-key {ref}: the environment variable {name} is not set")
        return parse_key(environ[name], f"the key in ${name}")
    if ref.startswith("file:"):
        path = Path(ref.removeprefix("file:")).expanduser()
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyReferenceError(f"--encryption-key {ref}: cannot read {path} ({exc})") from None
        return parse_key(text, f"the key in {path}")
    if ref.startswith(("https://", "http://")):
        secret = parse_vault_url(ref)
        return parse_key(read_secret(secret), f"the Key Vault secret {secret.name!r}")
    raise KeyReferenceError(
        "--encryption-key takes where the key is (env:NAME, file:PATH or a Key Vault secret URL), never "
        "the key itself: a key on the command line is visible in process lists and shell history"
    )


def operator_key(
    ref: str | None, environ: Mapping[str, str] | None = None, read_secret: SecretReader = read_vault_secret
) -> bytes | None:
    """The operator's key from ``--encryption-key`` or else ``ENTRASNAP_ENCRYPTION_KEY``; None for neither."""
    env = os.environ if environ is None else environ
    if ref is not None:
        return resolve(ref.strip(), env, read_secret)
    value = env.get(ENV, "").strip()
    if not value:
        return None
    if is_reference(value):
        return resolve(value, env, read_secret)
    from entrasnap.store.keys import parse_key

    return parse_key(value, f"${ENV}")
