"""Where the client gets access tokens from."""

from __future__ import annotations

from typing import Protocol


class TokenProvider(Protocol):
    """Gives a bearer token for Graph; ``refresh=True`` after Graph answered 401 (token expired mid-run)."""

    async def token(self, *, refresh: bool = False) -> str: ...


class StaticToken:
    """A fixed token string (refreshing gives the same token)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, *, refresh: bool = False) -> str:
        return self._token
