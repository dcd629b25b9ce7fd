"""The tenant's areas, in generation order; each module declares its endpoints and fills the store.

An area module has ``RESOURCES`` (its documented endpoints) and ``populate(store, ctx)`` (its part of a
generated tenant). Later areas may refer to objects that earlier ones created.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from entrasnap.fakegraph.areas import access, apps, directory, governance, identities, policies, roles, users
from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.resource import Resource
from entrasnap.fakegraph.state import Store

AREAS: list[ModuleType] = [users, directory, policies, apps, roles, access, identities, governance]


def all_resources() -> list[Resource]:
    return [res for area in AREAS for res in area.RESOURCES]


def populators() -> list[tuple[str, Callable[[Store, Context], None]]]:
    return [(area.__name__.rsplit(".", 1)[-1], area.populate) for area in AREAS]
