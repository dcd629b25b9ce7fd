"""httpx's HTTP transport with a cheaper look at idle connections.

Whenever a request starts or ends, httpcore's connection pool asks every idle connection whether the
server has closed it (``get_extra_info("is_readable")``: a poll of its socket). Through anyio that
question first builds a dict of the socket's attributes and calls ``getpeername``, several times the
cost of the poll itself; with 16 or 48 connections it was ~5% of a snapshot's CPU. Here each stream
keeps a poll object registered on its socket and asks it. Everything else (the pool, its limits and
keep-alive, TLS, what is sent) is httpx's and httpcore's own.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class PoolTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport(limits=limits)`` whose connections' streams are ``_Stream``s."""

    def __init__(self, limits: httpx.Limits) -> None:
        # What AsyncHTTPTransport.__init__ builds from these arguments (its one attribute), with a network
        # backend; not calling it saves building a second SSL context (~30 ms).
        pool = _LinearPool if httpcore.__version__ in LINEAR_POOL_VERSIONS else httpcore.AsyncConnectionPool
        self._pool = pool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )


LINEAR_POOL_VERSIONS = frozenset({"1.0.9"})
"""httpcore versions whose pool makes the decisions _LinearPool repeats (others get their own pool)."""


class _LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's pool, deciding as httpcore 1.0.9 does, in time linear in its connections.

    httpcore's ``_assign_requests_to_connections`` (run as every request starts and ends) builds a list
    of all connections for each idle one, only to take its length, and two lists of connections per
    queued request: with 48 connections, mostly idle between answers, that was ~6% of a snapshot's CPU.
    The same steps here: drop closed connections, close expired ones and idle ones beyond the
    keep-alive limit, then give each queued request the first available connection for its origin, else
    a new one while under the limit, else a new one in place of the first idle connection.
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        connections = self._connections
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(connections) > self._max_keepalive_connections
            ):
                connections.remove(connection)
                closing.append(connection)
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            available = next(
                (c for c in connections if c.can_handle_request(origin) and c.is_available()), None
            )
            if available is None and len(connections) >= self._max_connections:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is None:
                    continue
                connections.remove(idle)
                closing.append(idle)
            if available is None:
                available = self.create_connection(origin)
                connections.append(available)
            pool_request.assign_to_connection(available)
        return closing


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's default network backend, its streams wrapped."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """A connection's stream that answers ``is_readable`` by polling its socket (registered once)."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")
        self._poll = _poller(self._socket)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info != "is_readable" or self._socket is None:
            return self._stream.get_extra_info(info)
        if self._socket.fileno() < 0:
            return True  # closed: as httpcore answers (a read would fail at once)
        if self._poll is None:
            return bool(select.select([self._socket], [], [], 0)[0])
        return bool(self._poll.poll(0))


def _poller(sock: socket.socket | None) -> Any:
    """A poll object watching ``sock`` for reading (None where there is no poll(): Windows)."""
    if sock is None or not hasattr(select, "poll") or sock.fileno() < 0:
        return None
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    return poll
