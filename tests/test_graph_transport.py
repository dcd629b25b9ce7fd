"""The Graph client's HTTP transport: httpx's pool, with idle connections checked through their sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpcore
import httpx

from entrasnap.graph.transport import LINEAR_POOL_VERSIONS, PoolTransport, _LinearPool, _Stream

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Raw(httpcore.AsyncNetworkStream):
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> Any:
        return self.sock if info == "socket" else None


def test_a_socket_is_readable_with_data_waiting_or_once_the_peer_has_closed() -> None:
    mine, theirs = socket.socketpair()
    stream = _Stream(Raw(mine))
    with mine, theirs:
        assert not stream.get_extra_info("is_readable")
        theirs.sendall(b"x")
        assert stream.get_extra_info("is_readable")
        mine.recv(1)
        assert not stream.get_extra_info("is_readable")
        theirs.close()
        assert stream.get_extra_info("is_readable")  # the b"" of a closed connection
    assert stream.get_extra_info("is_readable")  # closed here too: no file descriptor
    assert stream.get_extra_info("socket") is mine


class Server:
    """An HTTP/1.1 server on loopback that answers ``{}`` on kept-alive connections and counts them."""

    def __init__(self) -> None:
        self.connections: list[asyncio.StreamWriter] = []
        self.open = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(writer)
        self.open += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def scenario(transport: httpx.AsyncBaseTransport) -> list[tuple[int, int]]:
    """Requests one by one, more at once than the pool's limit, then after the server dropped its idle
    connections; (connections made, connections still open) after each step."""
    server = Server()
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/"
    steps = []

    async def step() -> None:
        await asyncio.sleep(0.05)  # the server sees connections the client closed
        steps.append((len(server.connections), server.open))

    async with listening:
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(3):
                assert (await client.get(url)).json() == {}
            await step()
            for _ in range(2):
                answers = await asyncio.gather(*(client.get(url) for _ in range(7)))
                assert [a.json() for a in answers] == [{}] * 7
                await step()
            assert (await client.get(url)).json() == {}
            await step()
            for writer in server.connections:
                writer.close()  # the server drops its idle connections, without a word
            await step()
            assert (await client.get(url)).json() == {}  # on a new connection, not a dead one
            await step()
        for _ in range(100):  # the handlers see the connections the client closed, and end
            if not server.open:
                break
            await asyncio.sleep(0.01)
    return steps


async def test_connections_are_kept_up_to_the_limit_and_one_the_server_closed_is_replaced() -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    transport = PoolTransport(limits)
    if httpcore.__version__ in LINEAR_POOL_VERSIONS:
        assert isinstance(transport._pool, _LinearPool)
    steps = await scenario(transport)
    assert steps == [(1, 1), (4, 4), (4, 4), (4, 4), (4, 0), (5, 1)]
    assert steps == await scenario(httpx.AsyncHTTPTransport(limits=limits))  # httpx's own pool


async def test_the_pool_closes_idle_connections_beyond_the_keep_alive_limit_as_httpx_does() -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=1)
    steps = await scenario(PoolTransport(limits))
    assert steps == await scenario(httpx.AsyncHTTPTransport(limits=limits))
    assert steps[-1][1] <= 1
