"""Azurite (the Azure Storage emulator, npm ``azurite``) for tests, and a fault-injecting proxy before it.

Fixtures: ``azurite`` (one in-memory instance for the session) and ``azurite_disk`` (a function's own
instance on a folder, so a test can stop and restart it without losing data). Where node is absent and
``CI`` is unset the tests that need Azurite are skipped with the reason; anywhere else a failure to start
is an error.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's fixed development key, published in Microsoft's Azurite documentation.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connection_string(port: int, key: str = KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


class Endpoint:
    """The development account's URL and connection string at ``port`` on loopback."""

    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return connection_string(self.port)


class Azurite(Endpoint):
    """One azurite-blob process on 127.0.0.1; ``stop`` and ``start`` again keep the port (and, with a
    folder, the data)."""

    def __init__(self, workdir: Path, *, in_memory: bool) -> None:
        self.workdir = workdir
        self.in_memory = in_memory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "azurite.log"

    def start(self, timeout: float = 60.0) -> Azurite:
        command = [
            str(AZURITE),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ]
        command += ["--inMemoryPersistence"] if self.in_memory else ["--location", str(self.workdir / "data")]
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"azurite exited with {self.process.returncode}: {self.log.read_text()[-2000:]}"
                )
            if self.answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"azurite did not answer on port {self.port} within {timeout:.0f}s")

    def answers(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", f"/{ACCOUNT}?comp=list")
            conn.getresponse().read()
            conn.close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """Stop gracefully (SIGTERM: Azurite saves its metadata), SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def new_container(self, prefix: str = "t") -> str:
        """A fresh, empty container's name."""
        from azure.storage.blob import BlobServiceClient

        name = f"{prefix}-{uuid.uuid4().hex[:20]}"
        with BlobServiceClient.from_connection_string(self.connection_string) as service:
            service.create_container(name)
        return name


def _require_azurite() -> None:
    if shutil.which("node") is None and not os.environ.get("CI"):
        pytest.skip("node is not installed: Azure Blob tests need Azurite (`make azurite`)")
    if not AZURITE.exists():
        pytest.fail(f"{AZURITE} is missing: run `make azurite` (npm ci) first")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One in-memory Azurite for the session; tests use containers of their own (``new_container``)."""
    _require_azurite()
    server = Azurite(tmp_path_factory.mktemp("azurite"), in_memory=True).start()
    yield server
    server.stop()


@pytest.fixture
def azurite_disk(tmp_path: Path) -> Iterator[Azurite]:
    """A test's own Azurite keeping its data in a folder, to stop and restart."""
    _require_azurite()
    server = Azurite(tmp_path / "azurite", in_memory=False).start()
    yield server
    server.stop()


@pytest.fixture
def azure_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No AZURE_*/ENTRASNAP_* variables from outside; storage retries as configured, without the waits."""
    from entrasnap.store import azure

    for name in [n for n in os.environ if n.startswith(("AZURE_", "ENTRASNAP_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(azure, "BACKOFF", 0.01)
    monkeypatch.setattr(azure, "BACKOFF_BASE", 0.1)
    monkeypatch.setattr(azure, "JITTER", 0.0)


# --- faults ---------------------------------------------------------------------------------------------

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


@dataclass
class Fault:
    """For every ``every``-th matching request, ``count`` times in all: answer ``status`` instead of
    forwarding, or forward and hold the answer back ``delay`` seconds."""

    status: int | None = None
    delay: float = 0.0
    every: int = 1
    count: int = 1
    methods: tuple[str, ...] = ()
    seen: int = 0
    applied: int = 0

    def take(self, method: str) -> bool:
        if self.applied >= self.count or (self.methods and method not in self.methods):
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        self.applied += 1
        return True


@dataclass
class FaultProxy(Endpoint):
    """A loopback HTTP proxy in front of ``upstream_port`` that injects 503s and delays (``faults``) and
    calls ``hook(method, path)`` before forwarding each request. An unreachable upstream closes the
    client's connection, as a stopped server would."""

    upstream_port: int
    faults: list[Fault] = field(default_factory=list)
    hook: Callable[[str, str], None] | None = None
    requests: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                method = self.command
                with proxy.lock:
                    proxy.requests[method] += 1
                    chosen = next((f for f in proxy.faults if f.take(method)), None)
                if proxy.hook is not None:
                    proxy.hook(method, self.path)
                if chosen is not None and chosen.status:
                    self._answer(chosen.status, [("x-ms-error-code", "ServerBusy")], b"")
                    return
                try:
                    upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    upstream.request(method, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                    upstream.close()
                except OSError:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if chosen is not None and chosen.delay:
                    time.sleep(chosen.delay)  # a slow answer: the request has been carried out
                kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
                try:
                    self._answer(answer.status, kept, data, head=method == "HEAD")
                except OSError:
                    self.close_connection = True  # the client gave up waiting (a timed-out request)

            def _answer(
                self, status: int, headers: list[tuple[str, str]], data: bytes, *, head: bool = False
            ) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                length = next((v for k, v in headers if k.lower() == "content-length"), str(len(data)))
                self.send_header("Content-Length", length if head else str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hung up: nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def injected(self) -> int:
        return sum(f.applied for f in self.faults)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
