"""Start and stop a fake tenant in-process: the API behind the CLI, the demo and the pytest fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from entrasnap.fakegraph import auth
from entrasnap.fakegraph.server import FakeGraph, ServerThread, Settings
from entrasnap.fakegraph.state import Store
from entrasnap.fakegraph.tenant import generate


@dataclass
class RunningFakeGraph:
    """A fake tenant served on loopback."""

    fake: FakeGraph
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store(self) -> Store:
        return self.fake.store

    @property
    def tenant_id(self) -> str:
        return self.fake.store.tenant_id

    def token(self, roles: list[str] | None = None, lifetime: float = 3599.0) -> str:
        """A token holding exactly ``roles`` (every permission the fake knows when None)."""
        chosen = self.fake.all_permissions() if roles is None else roles
        return auth.issue_token(self.tenant_id, chosen, lifetime=lifetime)

    def client(self, roles: list[str] | None = None, **kwargs: Any) -> httpx.Client:
        """An httpx client for this tenant's Graph URLs, authenticated with ``token(roles)``."""
        headers = {"Authorization": f"Bearer {self.token(roles)}", **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def stop(self) -> None:
        self.server.stop()


def start(
    size: str = "S",
    seed: int = 1,
    licenses: set[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    store: Store | None = None,
    **settings: Any,
) -> RunningFakeGraph:
    """Generate (or take) a tenant and serve it on ``host:port`` (0: a free port)."""
    fake = FakeGraph(store or generate(size, seed, licenses), Settings(**settings))
    server = ServerThread(fake, host, port).start()
    return RunningFakeGraph(fake, server)
