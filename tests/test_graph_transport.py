"""The Graph client's HTTP transport: httpx's pool, with idle connections checked through their sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpcore
import httpx

from entrasnap.graph.transport import PoolTransport, _Stream

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


async def test_connections_are_kept_and_one_the_server_closed_is_replaced() -> None:
    connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    async with server, httpx.AsyncClient(transport=PoolTransport(limits)) as client:
        for _ in range(3):
            assert (await client.get(url)).json() == {}
        assert len(connections) == 1  # kept alive and reused
        answers = await asyncio.gather(*(client.get(url) for _ in range(6)))
        assert [a.status_code for a in answers] == [200] * 6
        assert len(connections) == 4  # no more than the limit
        for writer in connections:
            writer.close()  # the server drops its idle connections, without a word
        await asyncio.sleep(0.05)
        assert (await client.get(url)).json() == {}  # on a new connection, not a dead one
        assert len(connections) == 5
