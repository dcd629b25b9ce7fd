"""The directory recycle bin: ``/directory/deletedItems`` lists, restores and purges soft-deleted objects.

Users, groups, applications, service principals and administrative units go to the bin when deleted and
stay restorable for 30 days; restoring brings back the object with its links and memberships.
"""

from __future__ import annotations

from datetime import timedelta

from entrasnap.fakegraph.engine import Engine, Request, Response
from entrasnap.fakegraph.odata import GraphError, bad_request, not_found, parse_filter
from entrasnap.fakegraph.resource import Resource
from entrasnap.fakegraph.router import Match
from entrasnap.fakegraph.state import JSON, utcnow

RETENTION = timedelta(days=30)
# Type-cast segment -> (set key, permissions that may read those deleted objects).
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "microsoft.graph.user": (
        "users",
        ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    ),
    "microsoft.graph.group": (
        "groups",
        ("Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    ),
    "microsoft.graph.application": (
        "applications",
        (
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ),
    ),
    "microsoft.graph.servicePrincipal": (
        "servicePrincipals",
        (
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ),
    ),
    "microsoft.graph.administrativeUnit": (
        "directory/administrativeUnits",
        (
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ),
    ),
}
ALL_READ = tuple(sorted({p for _, perms in KINDS.values() for p in perms}))
WRITE = (
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Application.ReadWrite.All",
    "AdministrativeUnit.ReadWrite.All",
    "Directory.ReadWrite.All",
)


def purge_expired(engine: Engine) -> None:
    cutoff = utcnow() - RETENTION
    for object_id in [i for i, item in engine.store.recycle.items() if item.deleted_at < cutoff]:
        engine.store.recycle.pop(object_id)
        engine.store.directory.pop(object_id, None)


def list_deleted(engine: Engine, request: Request, match: Match) -> Response:
    purge_expired(engine)
    cast = match.resource.path.rsplit("/", 1)[-1]
    set_key, _ = KINDS[cast]
    predicate = parse_filter(request.query["$filter"]).predicate if "$filter" in request.query else None
    items = [i.obj for i in engine.store.recycle.values() if i.set_key == set_key]
    items = sorted((o for o in items if predicate is None or predicate(o)), key=lambda o: str(o["id"]))
    resource = engine.set_resources.get(set_key)
    select = (
        [s.strip() for s in request.query["$select"].split(",")]
        if "$select" in request.query
        else (list(resource.default_select) if resource and resource.default_select else None)
    )
    size = engine.page_size(request, match.resource) or len(items)
    token = request.query.get("$skiptoken")
    from entrasnap.fakegraph.odata import decode_token, encode_token, select_properties

    start = int(decode_token(token)) if token else 0
    page = items[start : start + size]
    body: JSON = {"@odata.context": f"{request.base_url}/{request.version}/$metadata#directoryObjects"}
    if request.query.get("$count", "").lower() == "true":
        engine.require_eventual(request, match.resource)
        body["@odata.count"] = len(items)
    if start + size < len(items):
        body["@odata.nextLink"] = engine.next_link(request, encode_token(str(start + size)))
    body["value"] = [
        {
            "@odata.type": "#" + cast,
            **select_properties(o, [*select, "id", "deletedDateTime"] if select else None),
        }
        for o in page
    ]
    return Response(200, body, objects=len(page))


def _deleted(engine: Engine, object_id: str) -> JSON:
    purge_expired(engine)
    item = engine.store.recycle.get(object_id)
    if item is None:
        raise not_found(object_id)
    return item.obj


def get_or_purge(engine: Engine, request: Request, match: Match) -> Response:
    object_id = match.params["id"]
    obj = _deleted(engine, object_id)
    item = engine.store.recycle[object_id]
    if request.method == "DELETE":
        if item.set_key == "directory/administrativeUnits":
            raise bad_request("Administrative units cannot be permanently deleted.", "Request_BadRequest")
        engine.store.recycle.pop(object_id)
        engine.store.directory.pop(object_id, None)
        engine.store.changes.record(item.set_key, object_id, deleted=True, permanent=True)
        return Response(204)
    cast = next(k for k, (key, _) in KINDS.items() if key == item.set_key)
    body = {
        "@odata.context": f"{request.base_url}/{request.version}/$metadata#directoryObjects/$entity",
        "@odata.type": "#" + cast,
        **obj,
    }
    return Response(200, body, objects=1)


def restore(engine: Engine, request: Request, match: Match) -> Response:
    object_id = match.params["id"]
    obj = _deleted(engine, object_id)
    store = engine.store
    item = store.recycle.pop(object_id)
    restored = {**obj, "deletedDateTime": None}
    if item.set_key == "users" and store.sets["users"].index("userPrincipalName").get(
        str(obj.get("userPrincipalName", "")).lower()
    ):
        store.recycle[object_id] = item
        raise GraphError(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        )
    store.add(item.set_key, restored, directory_object=True)
    for nav, targets in item.links.items():
        for target in targets:
            if store.resolve(target) is not None and store.link(f"{item.set_key}/{nav}", object_id, target):
                store.changes.record(item.set_key, object_id, link=nav, target=target)
    for link_key, source in item.incoming:
        owner, nav = link_key.rsplit("/", 1)
        if owner in store.sets and source in store.sets[owner] and store.link(link_key, source, object_id):
            store.changes.record(owner, source, link=nav, target=object_id)
    store.changes.record(item.set_key, object_id)
    cast = next(k for k, (key, _) in KINDS.items() if key == item.set_key)
    body = {
        "@odata.context": f"{request.base_url}/{request.version}/$metadata#directoryObjects/$entity",
        "@odata.type": "#" + cast,
        **restored,
    }
    return Response(200, body, objects=1)


RESOURCES = [
    Resource(
        f"/directory/deletedItems/{cast}",
        "singleton",
        "microsoft.graph.directoryObject",
        perms,
        extra={"handler": list_deleted},
    )
    for cast, (_, perms) in KINDS.items()
] + [
    Resource(
        "/directory/deletedItems/{id}",
        "singleton",
        "microsoft.graph.directoryObject",
        ALL_READ,
        WRITE,
        methods=frozenset({"GET", "DELETE"}),
        extra={"handler": get_or_purge},
    ),
    Resource(
        "/directory/deletedItems/{id}/restore",
        "singleton",
        "microsoft.graph.directoryObject",
        ALL_READ,
        WRITE,
        methods=frozenset({"POST"}),
        extra={"handler": restore},
    ),
]
