"""How fakegraph declares a documented Graph endpoint: its URL, shape, permissions, limits and costs.

These declarations are fakegraph's own, written from Microsoft's API reference; they never come from
entrasnap's resource catalog, so that a wrong path in the product fails a test instead of being
confirmed by the fake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from entrasnap.fakegraph.state import JSON, Store

Kind = Literal["set", "singleton", "links", "link"]
BOTH = frozenset({"v1.0", "beta"})
V1 = frozenset({"v1.0"})
BETA = frozenset({"beta"})

# Licence (service plan) names as fakegraph's tenants carry them.
P1 = "AAD_PREMIUM"
P2 = "AAD_PREMIUM_P2"
GOVERNANCE = "ENTRA_ID_GOVERNANCE"


def reads(*names: str) -> tuple[str, ...]:
    """Read permissions: each ``X`` stands for ``X.Read.All`` and ``X.ReadWrite.All``."""
    out: list[str] = []
    for name in names:
        if "." in name:
            out.append(name)
        else:
            out += [f"{name}.Read.All", f"{name}.ReadWrite.All"]
    return tuple(out)


@dataclass(frozen=True)
class Expansion:
    """What ``$expand=NAME`` embeds.

    kind ``ref``: the single object whose id is in property ``prop`` (looked up in set ``key``, or among
    directory objects when ``key`` is empty); ``contained``: the set whose key template is ``key``
    (``{id}`` is the expanded object's id); ``links``: the objects linked under link key ``key``;
    ``view``: the objects of set ``key`` whose property ``prop`` is the expanded object's id (at most 20,
    as for links: appRoleAssignment is a directoryObject).
    """

    kind: Literal["ref", "contained", "links", "view"]
    key: str = ""
    prop: str = ""


@dataclass(frozen=True)
class Resource:
    """One documented Graph endpoint (a collection, a singleton, or a navigation to other objects).

    ``path`` is the documented URL template without the version, e.g. ``/groups/{id}/members``.
    Items of a ``set`` are served at ``path/{key}``. Objects are stored under the key that is the path
    with its parameters filled in, unless ``store_key`` gives another template, or ``source`` and
    ``match`` make the endpoint a filtered view of another set (``/users/{id}/appRoleAssignments``
    shows the ``appRoleAssignments`` whose ``principalId`` equals the ``id`` parameter).
    """

    path: str
    kind: Kind
    type: str  # element type, e.g. "microsoft.graph.user"
    read: tuple[str, ...]  # application permissions, any one of which allows reading
    write: tuple[str, ...] = ()  # any one of which allows writing; empty: read-only
    versions: frozenset[str] = BOTH
    methods: frozenset[str] = frozenset({"GET"})  # on the collection or singleton itself
    item_methods: frozenset[str] = frozenset({"GET"})  # on path/{key}
    store_key: str | None = None
    source: str | None = None
    match: tuple[tuple[str, str], ...] = ()  # (property, path parameter) pairs for views
    id_field: str = "id"
    cost: int = 1  # resource units of a GET on the collection (before $select/$expand adjustments)
    item_cost: int = 1
    page_size: int | None = 100  # default page size; None: the whole collection in one response
    max_page_size: int = 999
    default_select: tuple[str, ...] | None = None  # properties returned when $select is absent
    required_filter: tuple[tuple[str, ...], ...] = ()  # alternatives; each names properties all needed
    license: str | None = None
    delta: bool = False
    soft_delete: bool = False  # DELETE moves objects to /directory/deletedItems
    paced: bool = False  # Conditional Access limit: one request per second per tenant
    directory_object: bool = False  # objects are directoryObjects, resolvable by id anywhere
    expand: Mapping[str, Expansion] = field(default_factory=dict)
    inline: Mapping[str, str] = field(default_factory=dict)  # property -> contained set key template
    on_create: Callable[[Store, JSON, dict[str, str]], JSON] | None = None
    on_delete: Callable[[Store, JSON], None] | None = None
    context: str | None = None  # @odata.context entity-set part, when not derivable from the path
    extra: Mapping[str, Any] = field(default_factory=dict)

    def key_for(self, params: Mapping[str, str]) -> str:
        """The store key this endpoint reads, with path parameters filled in."""
        template = self.source or self.store_key or self.path
        return fill(template, params)


def fill(template: str, params: Mapping[str, str]) -> str:
    """``/groups/{id}/members`` with ``{"id": "x"}`` -> ``groups/x/members``."""
    out = template.lstrip("/")
    for name, value in params.items():
        out = out.replace("{" + name + "}", value)
    return out
