"""Delta queries: ``GET /<set>/delta`` for resources declared with ``delta=True``.

Behaviour follows Microsoft's delta query overview and the user/group delta pages:

- The initial round (no token) returns every object, paged with ``@odata.nextLink`` (``$skiptoken``); the
  last page carries ``@odata.deltaLink`` (``$deltatoken``). ``$deltatoken=latest`` returns only a deltaLink.
- Query options are encoded into the tokens; ``$select`` limits the properties (``members`` / ``manager``
  in ``$select`` ask for ``members@delta`` / ``manager@delta``), ``$filter`` takes only ``id eq '..'``
  clauses joined by ``or`` (at most 50); ``$top``, ``$orderby``, ``$expand`` (other than the tracked
  navigations), ``$search``, ``$count`` and ``$skip`` are rejected.
- Later rounds return the objects changed since the token (their current state), removed objects as
  ``{"id", "@removed": {"reason": "changed"|"deleted"}}`` (soft-deleted / permanently deleted), and
  link changes in ``<nav>@delta`` (removed targets carry ``"@removed": {"reason": "deleted"}``).
- Objects with long link lists are split across pages: a page ends with an object carrying a slice of
  ``members@delta``; the next page repeats the object (same properties) with the next slice.
- Tokens older than ``engine.delta_token_ttl`` seconds answer 400 ``syncStateNotFound``; tokens issued
  before ``engine.delta_reset_at`` (an admin knob) answer ``410 Gone`` with a ``Location`` to resync.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from entrasnap.fakegraph.engine import Engine, Request, Response
from entrasnap.fakegraph.odata import GraphError, bad_request, decode_token, encode_token, unsupported_query
from entrasnap.fakegraph.resource import Resource
from entrasnap.fakegraph.router import Match
from entrasnap.fakegraph.state import JSON

DEFAULT_TTL = 7 * 24 * 3600.0
DEFAULT_MEMBER_SLICE = 100
MAX_FILTER_IDS = 50
DIRECTORY_OBJECT = "microsoft.graph.directoryObject"
# Navigations tracked by delta per set key: navigation -> included when $select is absent.
DELTA_NAVIGATIONS: dict[str, dict[str, bool]] = {
    "groups": {"members": True, "owners": False},
    "users": {"manager": False},
    "directory/administrativeUnits": {"members": True},
    "directoryRoles": {"members": True},
}
SYNC_STATE_NOT_FOUND = (
    "The sync state generation is not found. The delta token is expired and data must be synchronized again."
)
_ID_CLAUSE = re.compile(r"^\s*id\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


@dataclass
class Position:
    """Where a round stands: after object ``after``, or inside ``current`` at link offset ``offset``."""

    after: str | None = None
    current: str | None = None
    offset: int = 0


@dataclass
class Round:
    """One delta round: its query, the change window (``since``, ``upto``] and where the paging stands."""

    set_key: str
    select: list[str] | None
    ids: list[str] | None
    upto: int  # change sequence number the round's deltaLink will carry
    since: int | None = None  # None: the initial round (every object)
    position: Position = field(default_factory=Position)

    def payload(self) -> JSON:
        return {
            "k": "s",
            "p": self.set_key,
            "sel": self.select,
            "ids": self.ids,
            "u": self.upto,
            "s": self.since,
            "a": self.position.after,
            "c": self.position.current,
            "o": self.position.offset,
        }


def settings_of(engine: Engine) -> tuple[float, float, int]:
    """(token TTL in seconds, reset time, member slice size), with defaults for a bare Engine."""
    return (
        float(getattr(engine, "delta_token_ttl", DEFAULT_TTL)),
        float(getattr(engine, "delta_reset_at", 0.0)),
        int(getattr(engine, "delta_member_slice", DEFAULT_MEMBER_SLICE)),
    )


def navigations(resource: Resource, set_key: str) -> dict[str, bool]:
    declared = resource.extra.get("delta_navigations")
    return dict(declared) if declared is not None else DELTA_NAVIGATIONS.get(set_key, {})


def _decode(token: str) -> JSON:
    try:
        payload = orjson.loads(decode_token(token))
    except orjson.JSONDecodeError as exc:
        raise bad_request("Invalid delta token.", "Request_BadRequest") from exc
    if not isinstance(payload, dict):
        raise bad_request("Invalid delta token.", "Request_BadRequest")
    return payload


def _encode(payload: JSON) -> str:
    return encode_token(orjson.dumps(payload).decode())


def parse_id_filter(text: str) -> list[str]:
    """``id eq 'a' or id eq 'b'`` -> ids; anything else is not supported by directory delta."""
    clauses = re.split(r"\s+or\s+", text.strip(), flags=re.IGNORECASE)
    ids: list[str] = []
    for clause in clauses:
        found = _ID_CLAUSE.match(clause.strip("() "))
        if found is None:
            raise unsupported_query(
                "Unsupported query: only 'id eq' filters combined with 'or' are supported by delta."
            )
        ids.append(found.group(1))
    if len(ids) > MAX_FILTER_IDS:
        raise unsupported_query(f"The number of ids in the filter exceeds the limit of {MAX_FILTER_IDS}.")
    return ids


def _check_options(request: Request, navs: dict[str, bool]) -> list[str]:
    """Reject query options delta does not support; returns the navigations named in $expand."""
    for option in ("$top", "$orderby", "$search", "$count", "$skip"):
        if option in request.query:
            raise unsupported_query(f"The query option '{option}' is not supported with delta.")
    expanded: list[str] = []
    if "$expand" in request.query:
        for name in (s.strip() for s in request.query["$expand"].split(",") if s.strip()):
            if name not in navs:
                raise unsupported_query(f"The query option '$expand={name}' is not supported with delta.")
            expanded.append(name)
    return expanded


def _new_round(engine: Engine, request: Request, resource: Resource, set_key: str) -> Round:
    navs = navigations(resource, set_key)
    expanded = _check_options(request, navs)
    select: list[str] | None = None
    if "$select" in request.query:
        select = [s.strip() for s in request.query["$select"].split(",") if s.strip()]
    if expanded:
        select = [*(select if select is not None else _default_properties(resource)), *expanded]
    ids = parse_id_filter(request.query["$filter"]) if "$filter" in request.query else None
    return Round(set_key, select, ids, engine.store.changes.seq)


def _default_properties(resource: Resource) -> list[str]:
    return list(resource.default_select) if resource.default_select else ["*"]


def _check_token_age(engine: Engine, request: Request, payload: JSON) -> None:
    ttl, reset_at, _ = settings_of(engine)
    issued = float(payload.get("t", 0.0))
    if issued < reset_at:
        query: dict[str, str] = {}
        if payload.get("sel") is not None:
            query["$select"] = ",".join(payload["sel"])
        if payload.get("ids"):
            query["$filter"] = " or ".join(f"id eq '{i}'" for i in payload["ids"])
        query["$deltatoken"] = ""
        location = f"{request.base_url}/{request.version}{request.path}?" + urlencode(
            query, quote_via=quote, safe="$,'():="
        )
        raise GraphError(
            410,
            "resyncRequired",
            "The delta token is no longer valid and the data must be synchronized again.",
            {"Location": location},
        )
    if time.time() - issued > ttl or int(payload.get("s", 0)) > engine.store.changes.seq:
        raise GraphError(400, "syncStateNotFound", SYNC_STATE_NOT_FOUND)


def handle(engine: Engine, request: Request, match: Match) -> Response:
    resource = match.resource
    set_key = resource.key_for(match.params)
    delta_token = request.query.get("$deltatoken", request.query.get("$deltaToken"))
    skip_token = request.query.get("$skiptoken", request.query.get("$skipToken"))
    if delta_token == "latest":
        current = _new_round(engine, request, resource, set_key)
        return _respond(engine, request, match, current, page=[], more=None)
    if skip_token:
        payload = _decode(skip_token)
        if payload.get("k") != "s" or payload.get("p") != set_key:
            raise bad_request("Invalid skip token.", "Request_BadRequest")
        current = Round(
            set_key,
            payload["sel"],
            payload["ids"],
            int(payload["u"]),
            None if payload["s"] is None else int(payload["s"]),
            Position(payload["a"], payload["c"], int(payload["o"])),
        )
    elif delta_token:
        payload = _decode(delta_token)
        if payload.get("k") != "d" or payload.get("p") != set_key:
            raise GraphError(400, "syncStateNotFound", SYNC_STATE_NOT_FOUND)
        _check_token_age(engine, request, payload)
        current = Round(set_key, payload["sel"], payload["ids"], engine.store.changes.seq, int(payload["s"]))
    else:
        current = _new_round(engine, request, resource, set_key)
    page, more = _page(engine, request, resource, current)
    return _respond(engine, request, match, current, page=page, more=more)


def _respond(
    engine: Engine, request: Request, match: Match, current: Round, *, page: list[JSON], more: Position | None
) -> Response:
    resource = match.resource
    name = resource.context or resource.path.lstrip("/")
    body: JSON = {"@odata.context": f"{request.base_url}/{request.version}/$metadata#{name}"}
    base = f"{request.base_url}/{request.version}{request.path}"
    if more is not None:
        current.position = more
        body["@odata.nextLink"] = f"{base}?$skiptoken={_encode(current.payload())}"
    else:
        token = {
            "k": "d",
            "p": current.set_key,
            "sel": current.select,
            "ids": current.ids,
            "s": current.upto,
            "t": time.time(),
        }
        body["@odata.deltaLink"] = f"{base}?$deltatoken={_encode(token)}"
    body["value"] = page
    return Response(200, body, objects=len(page))


# --- building pages ------------------------------------------------------------------------------


@dataclass
class Entry:
    """One object of a round: its rendered properties and its link entries by navigation."""

    object_id: str
    item: JSON
    links: dict[str, list[JSON]]


def _candidates(engine: Engine, current: Round, after: str | None) -> Iterator[str]:
    """Ids of the round's objects in id order, after ``after``."""
    if current.since is None:
        entity_set = engine.store.sets.get(current.set_key)
        if current.ids is not None:
            ids = sorted(i for i in set(current.ids) if entity_set is not None and i in entity_set)
            yield from (i for i in ids if after is None or i > after)
            return
        if entity_set is None:
            return
        for obj in entity_set.after(after):
            yield str(obj[entity_set.id_field])
        return
    wanted = set(current.ids) if current.ids is not None else None
    changed = sorted(
        {c.object_id for c in _window(engine, current) if wanted is None or c.object_id in wanted}
    )
    yield from (i for i in changed if after is None or i > after)


def _window(engine: Engine, current: Round) -> Iterator[Any]:
    for change in engine.store.changes.since(current.since or 0):
        if change.seq > current.upto:
            break
        if change.set_key == current.set_key:
            yield change


def _target_type(engine: Engine, target: str) -> str:
    store = engine.store
    key = store.directory.get(target)
    if key is None and target in store.recycle:
        key = store.recycle[target].set_key
    return "#" + engine.set_types.get(key or "", DIRECTORY_OBJECT)


def _selection(
    resource: Resource, current: Round, navs: dict[str, bool]
) -> tuple[list[str] | None, list[str]]:
    """(properties, navigations) to return."""
    if current.select is None:
        props = list(resource.default_select) if resource.default_select else None
        return props, [n for n, default in navs.items() if default]
    chosen = [n for n in navs if n in current.select]
    props = [p for p in current.select if p not in navs]
    if "*" in props:
        return None, chosen
    return ([*props, "id"] if "id" not in props else props), chosen


def _entry(
    engine: Engine,
    request: Request,
    resource: Resource,
    current: Round,
    object_id: str,
    *,
    link_changes: dict[str, dict[str, bool]] | None,
) -> Entry | None:
    """The object as this round shows it, or None when there is nothing to show."""
    store = engine.store
    entity_set = store.sets.get(current.set_key)
    obj = entity_set.get(object_id) if entity_set is not None else None
    if obj is None:
        if current.since is None:
            return None
        reason = "changed" if object_id in store.recycle else "deleted"
        return Entry(object_id, {"id": object_id, "@removed": {"reason": reason}}, {})
    navs = navigations(resource, current.set_key)
    props, chosen = _selection(resource, current, navs)
    item = engine.render(request, obj, resource, props, [])
    links: dict[str, list[JSON]] = {}
    for nav in chosen:
        link_key = f"{current.set_key}/{nav}"
        if current.since is None:
            directory, types = store.directory, engine.set_types  # _target_type, for live targets
            entries = [
                {"@odata.type": "#" + types.get(directory[t], DIRECTORY_OBJECT), "id": t}
                for t in store.linked(link_key, object_id)
                if t in directory
            ]
        else:
            touched = (link_changes or {}).get(nav, {})
            linked = set(store.linked(link_key, object_id))
            entries = []
            for target in touched:
                entry: JSON = {"@odata.type": _target_type(engine, target), "id": target}
                if target not in linked:
                    entry["@removed"] = {"reason": "deleted"}
                entries.append(entry)
        if entries:
            links[nav] = entries
    return Entry(object_id, item, links)


def _link_changes(engine: Engine, current: Round) -> dict[str, dict[str, dict[str, bool]]]:
    """Object id -> navigation -> touched targets (in order), for the round's window."""
    out: dict[str, dict[str, dict[str, bool]]] = {}
    if current.since is None:
        return out
    for change in _window(engine, current):
        if change.link is not None and change.target is not None:
            out.setdefault(change.object_id, {}).setdefault(change.link, {})[change.target] = True
    return out


def _page(
    engine: Engine, request: Request, resource: Resource, current: Round
) -> tuple[list[JSON], Position | None]:
    """One page of the round and the position of the next page (None: the round is complete)."""
    size = resource.page_size or 100
    _, _, slice_size = settings_of(engine)
    slice_size = max(1, slice_size)
    link_changes = _link_changes(engine, current)
    page: list[JSON] = []
    position = current.position
    pending: list[tuple[str, int]] = []
    if position.current is not None:
        pending.append((position.current, position.offset))
    after = position.current or position.after
    candidates = _candidates(engine, current, after)
    last: str | None = position.after

    def next_candidate() -> tuple[str, int] | None:
        if pending:
            return pending.pop()
        found = next(candidates, None)
        return None if found is None else (found, 0)

    while True:
        upcoming = next_candidate()
        if upcoming is None:
            return page, None
        object_id, offset = upcoming
        if len(page) >= size:
            return page, Position(after=last)
        entry = _entry(
            engine, request, resource, current, object_id, link_changes=link_changes.get(object_id)
        )
        if entry is None:
            last = object_id
            continue
        total = max((len(v) for v in entry.links.values()), default=0)
        item = dict(entry.item)
        for nav, targets in entry.links.items():
            chunk = targets[offset : offset + slice_size]
            if chunk:
                item[f"{nav}@delta"] = chunk
        page.append(item)
        if offset + slice_size < total:
            return page, Position(after=last, current=object_id, offset=offset + slice_size)
        last = object_id
