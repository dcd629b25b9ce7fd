"""Delta queries (replaced by the full implementation)."""

from __future__ import annotations

from entrasnap.fakegraph.engine import Engine, Request, Response
from entrasnap.fakegraph.router import Match


def handle(engine: Engine, request: Request, match: Match) -> Response:
    return engine.listing(request, match)
