"""Where a repository lives, from the text a user gives: a local folder or an Azure Blob container.

The forms: a local path; ``az://ACCOUNT/CONTAINER[/PREFIX]``;
``https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]`` (or another cloud's blob endpoint such as
``blob.core.usgovcloudapi.net``); and, for emulators such as Azurite, the path-style
``http(s)://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX]``. Secrets arrive as arguments: this module never
reads the environment.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from entrasnap.store.backend import Backend, LocalBackend
from entrasnap.store.errors import StoreError

FORMS = (
    "a local folder, az://ACCOUNT/CONTAINER[/PREFIX], "
    "https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX] (or another cloud's blob endpoint), "
    "or http(s)://HOST:PORT/ACCOUNT/CONTAINER[/PREFIX] for an emulator such as Azurite"
)
DEFAULT_SUFFIX = "core.windows.net"
DEV_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"  # UseDevelopmentStorage=true (Azurite)
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class AzureLocation:
    """A container (and a prefix in it) in a storage account reached at ``endpoint``."""

    account: str
    container: str
    prefix: str
    endpoint: str  # the account's blob service URL, e.g. https://acct.blob.core.windows.net
    explicit_endpoint: bool  # named by the user (https/http form) rather than derived (az://)
    sas: str | None = None  # a SAS token given as the URL's query string

    @property
    def display(self) -> str:
        tail = f"/{self.prefix}" if self.prefix else ""
        if self.explicit_endpoint:
            return f"{self.endpoint}/{self.container}{tail}"
        return f"az://{self.account}/{self.container}{tail}"


def parse(location: str) -> Path | AzureLocation:
    """A local path or an Azure location; StoreError for anything else."""
    if "://" not in location:
        return Path(location).expanduser()
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return Path(unquote(parts.path)).expanduser()
    if scheme == "az":
        account = (parts.hostname or "").lower()
        path = parts.path
        endpoint, explicit = f"https://{account}.blob.{DEFAULT_SUFFIX}", False
    elif scheme in ("http", "https"):
        account, endpoint, path = _endpoint(location, parts)
        explicit = True
    else:
        raise StoreError(f"unsupported store {location!r}: use {FORMS}")
    container, _, prefix = unquote(path).strip("/").partition("/")
    _check_names(location, account, container)
    return AzureLocation(account, container, prefix.strip("/"), endpoint, explicit, parts.query or None)


def _endpoint(location: str, parts: Any) -> tuple[str, str, str]:
    """(account, account URL, the path after the account) of an http(s) location."""
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        raise StoreError(f"invalid port in store {location!r}") from None
    origin = f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")
    labels = host.split(".")
    if len(labels) > 2 and "blob" in labels[1:] and not _is_ip(host):
        return labels[0], origin, parts.path  # product style: ACCOUNT.blob.SUFFIX
    if port or host == "localhost" or _is_ip(host):
        account, _, rest = parts.path.strip("/").partition("/")  # path style (Azurite)
        return account.lower(), f"{origin}/{account}", rest
    raise StoreError(f"unsupported store {location!r}: {host} is not a blob endpoint; use {FORMS}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _check_names(location: str, account: str, container: str) -> None:
    if not _ACCOUNT.match(account):
        raise StoreError(
            f"invalid storage account name {account!r} in {location!r}: 3-24 lowercase letters and digits"
        )
    if not container:
        raise StoreError(f"store {location!r} names no container: use {FORMS}")
    if not _CONTAINER.match(container):
        raise StoreError(
            f"invalid container name {container!r} in {location!r}: 3-63 lowercase letters, digits "
            "and single hyphens, starting and ending with a letter or digit"
        )


def connection_settings(connection_string: str) -> dict[str, str]:
    """A connection string's settings, keys lower-cased (``accountname``, ``blobendpoint``, ...)."""
    settings: dict[str, str] = {}
    for part in connection_string.strip().strip(";").split(";"):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise StoreError(
                "invalid Azure Storage connection string: expected NAME=VALUE pairs separated by ;"
            )
        settings[key.strip().lower()] = value.strip()
    if settings.get("usedevelopmentstorage", "").lower() == "true":
        settings["blobendpoint"] = DEV_ENDPOINT
    return settings


def _connection_endpoint(settings: dict[str, str]) -> tuple[str, str]:
    """(account, blob endpoint) that a connection string names."""
    if settings.get("blobendpoint"):
        endpoint = settings["blobendpoint"].rstrip("/")
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        named = settings.get("accountname", "")
        derived = parts.path.strip("/").split("/")[0] if parts.path.strip("/") else host.split(".")[0]
        return (named or derived).lower(), endpoint
    account = settings.get("accountname", "").lower()
    if not account:
        raise StoreError(
            "invalid Azure Storage connection string: it names neither AccountName nor BlobEndpoint"
        )
    protocol = settings.get("defaultendpointsprotocol", "https").lower()
    suffix = settings.get("endpointsuffix", DEFAULT_SUFFIX)
    return account, f"{protocol}://{account}.blob.{suffix}"


def _same_endpoint(a: str, b: str) -> bool:
    def norm(url: str) -> tuple[str, str]:
        parts = urlsplit(url.rstrip("/"))
        return (parts.netloc.lower(), parts.path.rstrip("/").lower())

    return norm(a) == norm(b)


def _check_connection_string(where: AzureLocation, connection_string: str) -> str:
    """The auth description of a connection string that matches ``where``; StoreError otherwise."""
    settings = connection_settings(connection_string)
    account, endpoint = _connection_endpoint(settings)
    if account != where.account:
        raise StoreError(
            f"the Azure Storage connection string is for storage account {account}, "
            f"but the store {where.display} is in account {where.account}"
        )
    if where.explicit_endpoint and not _same_endpoint(endpoint, where.endpoint):
        raise StoreError(
            f"the Azure Storage connection string names blob endpoint {endpoint}, "
            f"but the store is at {where.endpoint}"
        )
    return (
        "connection string (SAS)"
        if settings.get("sharedaccesssignature")
        else "connection string (account key)"
    )


def open_backend(
    location: str,
    *,
    connection_string: str | None = None,
    sas_token: str | None = None,
    account_key: str | None = None,
    credential: Any = None,
) -> Backend:
    """The backend for ``location``. For Azure the first of these authenticates: a connection string,
    a SAS token (argument or the URL's query), an account key, a credential (azure-identity)."""
    where = parse(location)
    if isinstance(where, Path):
        return LocalBackend(where)
    from entrasnap.store.azure import AzureBlobBackend

    common: dict[str, Any] = {"prefix": where.prefix, "display": where.display}
    if connection_string:
        auth = _check_connection_string(where, connection_string)
        return AzureBlobBackend.connect(
            where.endpoint, where.container, connection_string=connection_string, auth=auth, **common
        )
    sas = sas_token or where.sas
    if sas:
        secret: Any = sas.lstrip("?")
        auth = "SAS token"
    elif account_key:
        from azure.core.credentials import AzureNamedKeyCredential

        secret, auth = AzureNamedKeyCredential(where.account, account_key), "account key"
    elif credential is not None:
        secret, auth = credential, "Microsoft Entra credential"
    else:
        raise StoreError(
            f"no credential for {where.display}: give a connection string, SAS token or credential"
        )
    return AzureBlobBackend.connect(where.endpoint, where.container, credential=secret, auth=auth, **common)
