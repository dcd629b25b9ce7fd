"""Errors raised by the repository: one clear line each, naming what is wrong and where."""

from __future__ import annotations


class StoreError(Exception):
    """A repository problem the user must see: missing or damaged data, unwritable path, newer format."""


class NotFoundError(StoreError):
    """A key is absent from the backend (the KeyError of the store)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class RepositoryNotFoundError(NotFoundError):
    """The repository location itself does not exist."""


class TruncatedError(StoreError):
    """A key holds fewer bytes than a read asked for (a truncated file: damage, not an outage)."""
