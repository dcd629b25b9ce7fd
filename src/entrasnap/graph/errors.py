"""Errors raised by the Graph client: a request that failed for good, with what the user needs to act."""

from __future__ import annotations


class GraphRequestError(Exception):
    """A Graph request that failed for good (after any retries)."""

    def __init__(
        self, status: int, code: str, message: str, *, url: str = "", request_id: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.url = url
        self.request_id = request_id
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.code}: {self.message}"
        if self.url:
            text += f" ({self.url})"
        if self.request_id:
            text += f" [request-id {self.request_id}]"
        return text


class GraphConnectionError(GraphRequestError):
    """Graph could not be reached (connection refused, DNS, TLS, timeouts) after every retry; status 0."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(0, "ConnectionError", message, url=url)


class GraphAuthenticationError(GraphRequestError):
    """No access token could be obtained (the credential failed); status 401."""

    def __init__(self, message: str) -> None:
        super().__init__(401, "TokenRequestFailed", message)
