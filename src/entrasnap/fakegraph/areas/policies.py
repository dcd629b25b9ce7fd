"""Area placeholder: being written."""

from __future__ import annotations

from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.resource import Resource
from entrasnap.fakegraph.state import Store

RESOURCES: list[Resource] = []


def populate(store: Store, ctx: Context) -> None:
    """Nothing yet."""
