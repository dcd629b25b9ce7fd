"""The shape of a catalog entry: everything entrasnap knows about one Entra resource type.

The catalog is the single declaration from which collection, permissions, CLI choices, diff noise,
restore order and docs/RESOURCES.md are derived. Paths and permissions come from Microsoft's Graph
API reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ChildKind = Literal["refs", "objects"]
Pair = tuple[str, str | bool]  # (property, value)


def holds(obj: Mapping[str, Any], pair: Pair) -> bool:
    """Whether an object's property equals the value or, for a list, holds it."""
    prop, value = pair
    have = obj.get(prop)
    return bool(have == value or (isinstance(have, list) and value in have))


@dataclass(frozen=True)
class Without:
    """Parents that cannot have a child, so it is stored empty for them without a request: those where
    every ``where`` pair holds and no ``unless`` pair does (see ``holds``)."""

    where: tuple[Pair, ...]
    unless: tuple[Pair, ...] = ()

    def excludes(self, parent: Mapping[str, Any]) -> bool:
        return all(holds(parent, p) for p in self.where) and not any(holds(parent, p) for p in self.unless)


@dataclass(frozen=True)
class Inverse:
    """Where a refs child's links are read from the other side.

    Each object of ``collection`` (e.g. ``/policies/tokenIssuancePolicies``) lists the objects it
    applies to in its ``navigation`` (``/policies/tokenIssuancePolicies/{id}/appliesTo``); a parent's
    child list is then the sorted ids of the collection's objects that list the parent. A handful of
    requests for the whole tenant instead of one per parent, the same ids as ``Child.path`` returns.
    """

    collection: str  # relative to the version root
    navigation: str = "appliesTo"


@dataclass(frozen=True)
class Child:
    """A collection read per parent object and stored with it.

    ``refs`` children (members, owners, policy assignments...) are stored as a sorted list of ids;
    ``objects`` children (federated credentials, policy rules...) as the full objects, sorted by id.
    ``path`` is relative to the Graph version root, with ``{id}`` standing for the parent's id.
    """

    name: str
    path: str
    kind: ChildKind = "refs"
    permission: str = ""  # least-privileged application permission; empty: the parent's
    api: str = "v1.0"
    select: tuple[str, ...] | None = None  # refs default to $select=id
    license: str | None = None
    page_size: int | None = None  # $top; default 999 for refs (directory objects), none for objects
    delta: bool = False  # the parent's delta query reports changes to it (``<name>@delta``, in $select)
    # a full read takes it from the parent's initial delta round (which also gives the next delta link):
    # complete lists, a long one spread over several pages, instead of $expand or a request per parent
    from_delta: bool = False
    # read with the parent's list pages (``$expand=<name>($select=id)`` for refs, ``$expand=<name>`` for
    # objects), and per parent only where the expanded list reached Graph's cap (20 directory objects;
    # collect.engine.EXPANDED_LIMIT)
    expand: bool = False
    inverse: Inverse | None = None  # read from the linked objects' side (refs only); ``path`` says what it is
    # read only for parents whose property of this name is non-empty; the others have none (a service
    # principal without oauth2PermissionScopes has no delegated permission classifications)
    only: str | None = None
    without: Without | None = None  # parents that cannot have it: stored empty, never read

    def possible(self, parent: Mapping[str, Any]) -> bool:
        """Whether the parent can have this child (``only``, ``without``); if not it is empty, never read."""
        if self.only and not parent.get(self.only):
            return False
        return not (self.without and self.without.excludes(parent))


@dataclass(frozen=True)
class ParentScope:
    """A type read once per object of another type, e.g. PIM for groups per group.

    ``filter`` is a $filter template where ``{id}`` is the parent's id; ``only`` optionally names a
    boolean-ish property of the parent that must be truthy for the parent to be queried.
    """

    type: str  # catalog key of the parent type, collected earlier
    filter: str
    only: str | None = None
    # parents never queried: (property, value) where the parent's property equals the value or, for a
    # list, holds it (PIM for groups cannot manage dynamic or on-premises synchronized groups)
    unless: tuple[Pair, ...] = ()

    def properties(self) -> set[str]:
        """The parent properties ``applies`` looks at."""
        return {*([self.only] if self.only else []), *(prop for prop, _ in self.unless)}

    def applies(self, parent: Mapping[str, Any]) -> bool:
        """Whether a parent (with at least ``properties()``) is queried."""
        if self.only and not parent.get(self.only):
            return False
        return not any(holds(parent, pair) for pair in self.unless)


@dataclass(frozen=True)
class Through:
    """A type whose objects come expanded in another type's objects instead of from its own path.

    The list requests of ``type`` add ``$expand=<navigation>`` (a single-valued navigation, with this type's
    ``Child.expand`` children nested: ``policy($expand=rules)``); this type's objects are the expanded ones,
    deduplicated by id, stored exactly as its own path returns them. Its own path (and ``parent``) is used
    when ``type`` is not read in the same run; a failed read of ``type`` fails this one too.
    """

    type: str  # catalog key of the type whose objects carry this one's
    navigation: str


@dataclass(frozen=True)
class ResourceType:
    """One Entra resource type as entrasnap captures, compares and restores it."""

    key: str  # stable catalog key, e.g. "conditionalAccessPolicies"
    title: str
    group: str  # config, users, groups, devices, applications, roles, pim, conditional-access, policies,
    # external-identities, governance
    path: str  # relative to the version root, e.g. "/identity/conditionalAccess/policies"
    permission: str  # least-privileged application permission to read it
    api: str = "v1.0"  # "beta" where v1.0 drops data
    singleton: bool = False
    page_size: int | None = 999  # $top to ask for; None: send no $top (endpoints that do not page)
    select: tuple[str, ...] | None = None  # None: Graph's default property set is complete
    filter: str | None = None  # a $filter the endpoint requires
    expand: str | None = None
    consistency_eventual: bool = False  # send ConsistencyLevel: eventual (re-sent on every page)
    parent: ParentScope | None = None
    children: tuple[Child, ...] = ()
    id_field: str = "id"
    name_field: str = "displayName"
    license: str | None = None  # "P1", "P2" or "Governance": what an "unlicensed" answer means
    paced: bool = False  # Graph allows one request per second per tenant (Conditional Access)
    cloud_only_filter: str | None = None  # $filter for --cloud-only (users and groups)
    noise: tuple[str, ...] = ()  # properties that change without anyone changing the configuration
    read_only: tuple[str, ...] = ()  # properties a restore must not send
    create: str | None = None  # "POST" on path when restorable by creation
    update: str | None = None  # "PATCH" (or "PUT") on path/{id} (or path for singletons)
    restore_order: int = 100  # lower restores first (named locations before CA policies)
    references: tuple[str, ...] = ()  # catalog keys whose ids this type refers to (for name resolution)
    description: str = ""
    extra_permissions: tuple[str, ...] = field(default_factory=tuple)  # also needed (e.g. signInActivity)
    delta: bool = False  # Graph change-tracks the collection: ``{path}/delta`` (incremental snapshots)
    through: Through | None = None  # read as another type's expanded navigation (see Through)
