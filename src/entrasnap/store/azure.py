"""A repository in an Azure Blob Storage container, with the same write-once contract as local disk.

``create`` is a conditional upload (``If-None-Match: *``), so it never overwrites and works on a
container with a version-level immutability (WORM) policy. Transient failures (500, 503, timeouts,
dropped connections) are retried with exponential backoff by the SDK's retry policy; what still fails
becomes one :class:`StoreError` line naming the account, the container and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContainerClient, ExponentialRetry

from entrasnap.store.errors import NotFoundError, StoreError, TruncatedError

# The retry policy and timeouts (seconds). Waits grow as BACKOFF + BACKOFF_BASE**n with jitter: about
# 1, 3, 5, 9 and 17 s, so a storage account that is busy for half a minute is ridden out.
BACKOFF = 1.0
BACKOFF_BASE = 2.0
JITTER = 0.5
RETRIES = 5  # in all, of which at most CONNECT_RETRIES connection failures
CONNECT_RETRIES = 3
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0

ROLE = "Storage Blob Data Contributor"
T = TypeVar("T")


class AzureBlobBackend:
    """Keys live as blobs named ``PREFIX/KEY`` in one container.

    ``auth`` names the kind of credential ("connection string", "SAS token", "account key",
    "Microsoft Entra credential") for error messages; ``display`` is how the location is shown.
    """

    remote = True
    """Each read is a network request: readers fetch whole packs when they read many objects of one."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        prefix: str = "",
        auth: str,
        display: str,
    ) -> None:
        self.container = container
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.auth = auth
        self.display = display
        self.account = container.account_name or "?"
        self.container_name = container.container_name

    @classmethod
    def connect(
        cls,
        account_url: str,
        container: str,
        *,
        prefix: str = "",
        credential: Any = None,
        connection_string: str | None = None,
        auth: str,
        display: str,
    ) -> AzureBlobBackend:
        """A backend on ``account_url``/``container``, or on the endpoint a connection string names."""
        options: dict[str, Any] = {
            "retry_policy": retry_policy(),
            "connection_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
        }
        if connection_string is not None:
            try:
                client = ContainerClient.from_connection_string(connection_string, container, **options)
            except ValueError as exc:
                raise StoreError(f"invalid Azure Storage connection string: {exc}") from None
        else:
            client = ContainerClient(account_url, container, credential=credential, **options)
        return cls(client, prefix=prefix, auth=auth, display=display)

    def __str__(self) -> str:
        return self.display

    def close(self) -> None:
        self.container.close()

    # keys

    def _name(self, key: str) -> str:
        if not key or any(p in ("", ".", "..") for p in key.split("/")):
            raise ValueError(f"invalid repository key {key!r}")
        return self.prefix + key

    def _call(self, key: str | None, action: Callable[[], T]) -> T:
        try:
            return action()
        except ResourceNotFoundError as exc:
            if _code(exc) == "ContainerNotFound" or key is None:
                self._missing_container()
            raise NotFoundError(key, f"{key} is missing from repository {self.display}") from None
        except AzureError as exc:
            raise self._error(exc) from None

    # the contract

    def exists(self, key: str) -> bool:
        name = self._name(key)
        return self._call(key, lambda: self.container.get_blob_client(name).exists())

    def create(self, key: str, data: bytes) -> bool:
        name = self._name(key)
        retried: list[int] = []

        def upload() -> bool:
            try:
                self.container.upload_blob(
                    name, data, overwrite=False, retry_hook=lambda **_: retried.append(1)
                )
            except ResourceExistsError:
                # After a retried upload, the "existing" blob may be our own first attempt, whose
                # answer was lost: the same bytes mean it was created by this call.
                return bool(retried) and self._read(name, key) == data
            return True

        return self._call(key, upload)

    def read(self, key: str) -> bytes:
        return self._read(self._name(key), key)

    def _read(self, name: str, key: str) -> bytes:
        return self._call(key, lambda: self.container.download_blob(name).readall())

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        name = self._name(key)
        if length <= 0:
            if not self.exists(key):
                raise NotFoundError(key, f"{key} is missing from repository {self.display}")
            return b""
        try:
            data = self._call(
                key, lambda: self.container.download_blob(name, offset=offset, length=length).readall()
            )
        except StoreError as exc:
            if "InvalidRange" not in str(exc):
                raise
            data = b""
        if len(data) != length:
            raise TruncatedError(f"{key} in repository {self.display} is shorter than expected (truncated?)")
        return data

    def read_ranges(self, key: str, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        return [self.read_range(key, offset, length) for offset, length in ranges]

    def list(self, prefix: str) -> Iterator[str]:
        return iter([key for key, _ in self._listing(prefix)])

    def list_sizes(self, prefix: str) -> Iterator[tuple[str, int]]:
        return iter(self._listing(prefix))

    def _listing(self, prefix: str) -> Sequence[tuple[str, int]]:
        start = len(self.prefix)

        def listing() -> Sequence[tuple[str, int]]:
            blobs = self.container.list_blobs(name_starts_with=self.prefix + prefix)
            return sorted((blob.name[start:], int(blob.size or 0)) for blob in blobs)

        return self._call(None, listing)

    def delete(self, key: str) -> None:
        name = self._name(key)

        def delete() -> None:
            try:
                self.container.delete_blob(name)
            except ResourceNotFoundError as exc:
                if _code(exc) == "ContainerNotFound":
                    raise
                # absent already: fine

        self._call(key, delete)

    # errors

    def _missing_container(self) -> NoReturn:
        raise StoreError(
            f"container {self.container_name} does not exist in storage account {self.account}; "
            f"create it first, e.g. `az storage container create --account-name {self.account} "
            f"--name {self.container_name} --auth-mode login`"
        )

    def _error(self, exc: AzureError) -> StoreError:
        where = f"storage account {self.account} (container {self.container_name})"
        status = getattr(exc, "status_code", None)
        code = _code(exc)
        first = _first_line(exc)
        if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
            # The credential itself could not get a token (no managed identity, no az login, ...).
            return StoreError(f"no usable {self.auth} for {where}: {first}")
        if status in (401, 403) or isinstance(exc, ClientAuthenticationError):
            return StoreError(
                f"{where} refused access with the {self.auth} ({code or status}): {self._hint()}"
            )
        if isinstance(exc, ServiceRequestError):
            return StoreError(f"cannot reach {where} at {self.container.url}: {first}")
        if isinstance(exc, ServiceResponseError):
            return StoreError(f"{where} did not answer (connection lost or timed out; retried): {first}")
        if isinstance(exc, HttpResponseError) and status is not None:
            return StoreError(f"{where} answered {status} {code or ''}".rstrip() + f" (retried): {first}")
        return StoreError(f"{where}: {first}")

    def _hint(self) -> str:
        if "SAS" in self.auth:
            return (
                "the SAS token must be valid (signature, expiry, allowed IPs) and allow read, add, create, "
                "write, delete and list (sp=racwdl) on the container"
            )
        if "key" in self.auth or "connection string" in self.auth:
            return "check the account name and key (the key may have been rotated)"
        return f"the identity needs the {ROLE} role on the container or the storage account"


def retry_policy() -> ExponentialRetry:
    """Retries for 408/500/503 answers, timeouts and dropped connections, with exponential backoff."""
    return ExponentialRetry(
        initial_backoff=BACKOFF,  # type: ignore[arg-type]  # floats work; the SDK annotates int
        increment_base=BACKOFF_BASE,  # type: ignore[arg-type]
        random_jitter_range=JITTER,  # type: ignore[arg-type]
        retry_total=RETRIES,
        retry_connect=CONNECT_RETRIES,
        retry_read=RETRIES,
        retry_status=RETRIES,
    )


def _code(exc: AzureError) -> str:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _first_line(exc: AzureError) -> str:
    text = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip()
    return text.splitlines()[0] if text else type(exc).__name__
