"""The resource catalog: every Entra resource type entrasnap knows, and what reading it needs.

``CATALOG`` lists the types in collection order; ``BY_KEY`` finds one by key; ``GROUPS`` names the
keys of each group (config, users, ..., governance). ``resolve`` turns a user's selection into types and
``permissions`` gives the least-privileged application permissions that reading them needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from entrasnap.catalog.model import Child, ParentScope, ResourceType
from entrasnap.catalog.types import CATALOG

__all__ = ["BY_KEY", "CATALOG", "GROUPS", "Child", "ParentScope", "ResourceType", "permissions", "resolve"]

BY_KEY: dict[str, ResourceType] = {t.key: t for t in CATALOG}
GROUPS: dict[str, tuple[str, ...]] = {}
for _type in CATALOG:
    GROUPS[_type.group] = (*GROUPS.get(_type.group, ()), _type.key)
del _type


def resolve(selection: Iterable[str]) -> list[ResourceType]:
    """The types named by keys or group names (case-sensitive), in catalog order, without duplicates.

    An empty selection means the whole catalog. Unknown names raise ValueError listing the choices.
    """
    names = [s.strip() for s in selection if s.strip()]
    if not names:
        return list(CATALOG)
    unknown = [n for n in names if n not in BY_KEY and n not in GROUPS]
    if unknown:
        raise ValueError(
            f"unknown resource type or group: {', '.join(unknown)}. "
            f"Groups: {', '.join(GROUPS)}. Types: {', '.join(BY_KEY)}."
        )
    wanted: set[str] = set()
    for name in names:
        wanted.update(GROUPS.get(name, (name,)))
    return [t for t in CATALOG if t.key in wanted]


def permissions(types: Iterable[ResourceType]) -> list[str]:
    """The application permissions reading ``types`` needs (their children's and extras included), sorted."""
    # Every snapshot reads /organization to know which tenant it is filing (never by the name typed).
    needed: set[str] = {"Organization.Read.All"}
    for rtype in types:
        needed.add(rtype.permission)
        needed.update(rtype.extra_permissions)
        needed.update(child.permission for child in rtype.children if child.permission)
    return sorted(needed)
