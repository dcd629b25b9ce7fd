"""Answer one Graph request against a tenant's state, independent of HTTP.

The server feeds requests in; ``$batch`` feeds each of its items back in the same way, so permissions,
licences, throttling and errors behave identically inside and outside batches.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from entrasnap.fakegraph import licensing
from entrasnap.fakegraph.odata import (
    ExpandItem,
    GraphError,
    bad_request,
    copy_json,
    decode_token,
    encode_token,
    filtered_equalities,
    not_found,
    parse_expand,
    parse_filter,
    select_properties,
    unsupported_query,
)
from entrasnap.fakegraph.resource import Expansion, Resource, fill
from entrasnap.fakegraph.router import Match, Router
from entrasnap.fakegraph.state import JSON, DeletedItem, Store, isotime, utcnow
from entrasnap.fakegraph.throttle import Limiter
from entrasnap.fakegraph.versions import BETA_MISSING, BETA_RENAMES

JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
# $expand on directory objects (https://learn.microsoft.com/en-us/graph/query-parameters#expand-parameter and
# known issue https://developer.microsoft.com/en-us/graph/known-issues/?search=13635): a list page holds at
# most 100 objects whatever $top asks, and an expanded relationship holds at most 20 objects (100 for
# users' registeredDevices), with no nextLink for the rest.
EXPAND_PAGE_SIZE = 100
EXPANDED_ITEMS = 20
EXPANDED_ITEMS_BY_LINK = {"users/registeredDevices": 100}


@dataclass
class Request:
    method: str
    version: str  # "v1.0" or "beta"
    path: str  # after the version, e.g. "/users/123"
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: Any = None
    base_url: str = "https://graph.microsoft.com"
    permissions: frozenset[str] | None = None  # None: every permission
    app_id: str = "00000000-0000-0000-0000-000000000000"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: Any = None  # JSON, or str for text/plain
    headers: dict[str, str] = field(default_factory=dict)
    objects: int = 0  # objects returned, for the latency model


Handler = Callable[["Engine", Request, Match], Response]


class Engine:
    """Dispatches requests to generic handlers for sets, singletons and links."""

    def __init__(
        self,
        store: Store,
        resources: list[Resource],
        limiter: Limiter | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.store = store
        self.resources = resources
        self.router = Router(resources)
        self.limiter = limiter
        self.handlers = dict(handlers or {})  # by mode, e.g. "delta"
        # Delta knobs (see delta.py): token lifetime, forced-resync time, link slice size per page.
        self.delta_token_ttl: float = 7 * 24 * 3600.0
        self.delta_reset_at: float = 0.0
        self.delta_member_slice: int = 100
        # Top-level entity sets and their element types, for rendering directory objects anywhere.
        self.set_types: dict[str, str] = {}
        self.set_resources: dict[str, Resource] = {}
        self.view_resources: dict[str, Resource] = {}  # a set shown only through views: one of them
        for res in resources:
            if res.source:
                self.view_resources.setdefault(res.source, res)
            if res.kind == "set" and "{" not in res.path and not res.source:
                key = res.key_for({})
                self.set_types.setdefault(key, res.type)
                self.set_resources.setdefault(key, res)

    # --- entry point ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            response = self._handle(request)
        except GraphError as error:
            response = Response(
                error.status, error.body(request_id, request.header("client-request-id")), dict(error.headers)
            )
        response.headers.setdefault("request-id", request_id)
        response.headers.setdefault("client-request-id", request.header("client-request-id") or request_id)
        if isinstance(response.body, dict):
            response.headers.setdefault("Content-Type", JSON_TYPE)
        return response

    def _handle(self, request: Request) -> Response:
        match = self.router.match(request.path, request.version)
        resource = match.resource
        writing = request.method in WRITE_METHODS
        cost = self.cost(request, match, writing)
        if self.limiter is not None:
            self.limiter.acquire(request.app_id, cost, paced=resource.paced, write=writing)
        self.authorize(request, resource, writing)
        licensing.check(self.store, resource)
        handler = resource.extra.get("handler") or self.handlers.get(match.mode)
        if handler is not None:
            response: Response = handler(self, request, match)
        else:
            response = self.dispatch(request, match)
        response.headers["x-ms-resource-unit"] = str(cost)
        return response

    def cost(self, request: Request, match: Match, writing: bool) -> int:
        """Resource units, as Graph's identity and access throttling table counts them."""
        if writing:
            return 1
        resource = match.resource
        base = resource.cost if match.mode in {"collection", "delta", "cast", "ref"} else resource.item_cost
        if "$select" in request.query:
            base -= 1
        if "$expand" in request.query:
            base += 1
        top = request.query.get("$top")
        if top and top.isdigit() and int(top) < 20:
            base -= 1
        return max(1, base)

    def authorize(self, request: Request, resource: Resource, writing: bool) -> None:
        if request.permissions is None:
            return
        needed = resource.write if writing else resource.read
        if not needed or not request.permissions.intersection(needed):
            raise GraphError(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )

    # --- generic dispatch -----------------------------------------------------------------------

    def dispatch(self, request: Request, match: Match) -> Response:
        resource, mode, method = match.resource, match.mode, request.method
        allowed = resource.item_methods if mode in {"item"} and resource.kind == "set" else resource.methods
        if mode in {"ref", "item_ref"}:
            allowed = frozenset({"GET", "POST", "PUT", "DELETE"}) & (resource.methods | {"DELETE", "PUT"})
            if not resource.write:
                allowed = frozenset({"GET"})
        if method not in allowed and not (method == "GET" and mode in {"count", "cast", "delta"}):
            raise GraphError(
                405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
            )
        kind = resource.kind
        if kind == "singleton":
            return self.singleton(request, match)
        if kind == "link":
            return self.single_link(request, match)
        if mode == "count":
            return self.count(request, match)
        if kind == "links":
            return self.links(request, match)
        if mode == "item":
            return self.item(request, match)
        if mode == "delta":  # reached through a resource's own handler that delegates back here
            delta_handler = self.handlers.get("delta")
            if delta_handler is None:
                raise bad_request("Resource not found for the segment 'delta'.")
            return delta_handler(self, request, match)
        if method == "POST":
            return self.create(request, match)
        return self.listing(request, match)

    # --- reading --------------------------------------------------------------------------------

    def context_url(
        self, request: Request, match: Match, select: list[str] | None, entity: bool = False
    ) -> str:
        resource = match.resource
        if resource.context:
            name = resource.context
        else:
            name = resource.path.lstrip("/")
            for key, value in match.params.items():
                name = name.replace("/{" + key + "}", f"('{value}')")
        if select:
            name += "(" + ",".join(select) + ")"
        if entity:
            name += "/$entity"
        return f"{request.base_url}/{request.version}/$metadata#{name}"

    def source_objects(
        self,
        resource: Resource,
        params: Mapping[str, str],
        after: str | None = None,
        where: Mapping[str, str] | None = None,
    ) -> Iterator[JSON]:
        """Objects of a set endpoint in id order, after id ``after``, narrowed by its ``match`` for views.

        ``where`` (property -> string that matches must equal, case-insensitively, as a filter's ``eq``)
        only narrows the candidates through an index: the caller still applies its whole filter.
        """
        entity_set = self.store.sets.get(resource.key_for(params))
        if entity_set is None:
            return iter(())
        # Candidate ids, in id order: a view's own set, else the fewest that one equality allows.
        if resource.match:
            prop, param = resource.match[0]
            ids = entity_set.index(prop).get(params[param].lower(), [])
        elif where:
            ids = min((entity_set.index(p).get(v.lower(), []) for p, v in where.items()), key=len)
        else:
            return entity_set.after(after)
        objects = entity_set.after(after, ids)
        rest = resource.match[1:]
        if not rest:
            return objects
        return (o for o in objects if all(str(o.get(p, "")).lower() == params[q].lower() for p, q in rest))

    def page_size(self, request: Request, resource: Resource) -> int | None:
        size = self.asked_page_size(request, resource)
        if resource.directory_object and "$expand" in request.query:
            return min(size or EXPAND_PAGE_SIZE, EXPAND_PAGE_SIZE)
        return size

    def asked_page_size(self, request: Request, resource: Resource) -> int | None:
        top = request.query.get("$top")
        if top is None:
            return resource.page_size
        if not top.lstrip("-").isdigit():
            raise bad_request(f"Invalid value '{top}' for $top query option found.")
        size = int(top)
        if size < 1 or size > resource.max_page_size:
            raise unsupported_query(
                f"Invalid page size specified: '{size}'. Must be between 1 and {resource.max_page_size} inclusive."
            )
        return size

    def check_query(self, request: Request, resource: Resource) -> None:
        if "$orderby" in request.query and request.header("consistencylevel") != "eventual":
            raise unsupported_query("Sorting not supported for current query.")
        if "$search" in request.query:
            raise unsupported_query("Search is not supported for this resource without ConsistencyLevel.")
        if "$skip" in request.query:
            raise unsupported_query("'$skip' is not supported by the service.")
        if resource.required_filter:
            given = filtered_equalities(request.query.get("$filter", ""))
            if not any(all(p in given for p in alternative) for alternative in resource.required_filter):
                names = " or ".join(" and ".join(a) for a in resource.required_filter)
                raise bad_request(
                    f"The request must filter on {names} using the 'eq' operator.", "BadRequest"
                )

    def selection(
        self, request: Request, resource: Resource, collection: bool = False
    ) -> tuple[list[str] | None, list[str] | None]:
        """(properties to return, the $select list as given, for @odata.context)."""
        raw = request.query.get("$select")
        if raw is None:
            return (list(resource.default_select) if resource.default_select else None), None
        select = [s.strip() for s in raw.split(",") if s.strip()]
        single_only = set(resource.extra.get("single_only", ()))
        if collection and single_only.intersection(select):
            raise GraphError(501, "NotImplemented", "This operation target is not yet supported.")
        return ([*select, "id"] if "id" not in select else select), select

    def render(
        self,
        request: Request,
        obj: JSON,
        resource: Resource | None,
        select: list[str] | None,
        expand: list[ExpandItem],
    ) -> JSON:
        # A $select builds a new object anyway: copy first only when the object itself is reshaped.
        reshaped = resource is not None and bool(
            resource.inline or resource.extra.get("strip") or request.version == "beta"
        )
        out = dict(obj) if select is None or reshaped else obj
        if resource is not None:
            for prop, template in resource.inline.items():
                key = fill(template, {"id": str(obj.get(resource.id_field, ""))})
                nested = self.store.sets.get(key)
                out[prop] = [copy_json(o) for o in nested.after()] if nested else []
            if resource.extra.get("strip"):
                strip_paths(out, resource.extra["strip"])
            if request.version == "beta":
                strip_paths(out, BETA_MISSING.get(resource.type, ()))
                for old, new in BETA_RENAMES.get(resource.type, {}).items():
                    if old in out:
                        out[new] = out.pop(old)
        sparse = resource is not None and resource.default_select is not None
        out = select_properties(out, select, sparse, resource.extra.get("defaults") if resource else None)
        for item in expand:
            out[item.name] = self.expanded(request, obj, resource, item)
        return out

    def expanded(self, request: Request, obj: JSON, resource: Resource | None, item: ExpandItem) -> Any:
        expansion = resource.expand.get(item.name) if resource else None
        if expansion is None:
            raise bad_request(
                f"Could not find a property named '{item.name}' on type "
                f"'{resource.type if resource else 'microsoft.graph.entity'}'."
            )
        if expansion.kind == "ref":
            return self.expanded_ref(request, obj, expansion, item)
        if expansion.kind == "contained":
            nested = self.store.sets.get(fill(expansion.key, {"id": str(obj.get("id"))}))
            return [
                self.render(request, o, None, item.select, []) for o in (nested.after() if nested else ())
            ]
        if expansion.kind == "view":
            entity_set = self.store.sets.get(expansion.key)
            ids = entity_set.index(expansion.prop).get(str(obj.get("id")).lower(), []) if entity_set else []
            shown = self.set_resources.get(expansion.key) or self.view_resources.get(expansion.key)
            return [
                self.render(request, entity_set.objects[i], shown, item.select, [])
                for i in ids[:EXPANDED_ITEMS]
                if entity_set is not None
            ]
        ids = self.store.linked(expansion.key, str(obj.get("id")))
        rendered = []
        for target_id in ids[: EXPANDED_ITEMS_BY_LINK.get(expansion.key, EXPANDED_ITEMS)]:
            found = self.lookup("", target_id)
            if found is not None:
                rendered.append(self.render_target(request, found[0], found[1], item))
        if expansion.key.endswith("/manager"):
            return rendered[0] if rendered else None
        return rendered

    def expanded_ref(
        self, request: Request, obj: JSON, expansion: Expansion, item: ExpandItem
    ) -> JSON | None:
        """The one object a single-valued navigation names, or None."""
        target_id = obj.get(expansion.prop)
        if not isinstance(target_id, str):
            return None
        found = self.lookup(expansion.key, target_id)
        if found is None:
            return None
        rendered = self.render_target(request, found[0], found[1], item)
        declared = self.set_resources.get(found[0])
        if declared is not None and not declared.directory_object:
            # one entity of the navigation's own type: untyped, as in the documented
            # `$expand=policy($expand=rules)` answer (policyroot-list-rolemanagementpolicyassignments)
            rendered.pop("@odata.type", None)
        return rendered

    def lookup(self, set_key: str, object_id: str) -> tuple[str, JSON] | None:
        if not set_key:
            return self.store.resolve(object_id)
        obj = self.store.sets.get(set_key)
        found = obj.get(object_id) if obj else None
        return None if found is None else (set_key, found)

    def render_target(
        self,
        request: Request,
        set_key: str,
        obj: JSON,
        item: ExpandItem | None = None,
        select: list[str] | None = None,
    ) -> JSON:
        """A referenced object as Graph shows it in a directoryObject collection: typed, default set."""
        resource = self.set_resources.get(set_key)
        if select is None:
            select = (item.select if item else None) or (
                list(resource.default_select) if resource and resource.default_select else None
            )
        out = {"@odata.type": "#" + self.set_types.get(set_key, "microsoft.graph.directoryObject")}
        rendered = self.render(request, obj, resource, select, item.expand if item else [])
        rendered.pop("@odata.type", None)
        out.update(rendered)
        return out

    def listing(self, request: Request, match: Match) -> Response:
        resource = match.resource
        self.check_query(request, resource)
        select, given_select = self.selection(request, resource, collection=True)
        expand = parse_expand(request.query["$expand"]) if "$expand" in request.query else []
        found = parse_filter(request.query["$filter"]) if "$filter" in request.query else None
        predicate = found.predicate if found else None
        where = found.equalities if found else None
        size = self.page_size(request, resource)
        token = request.query.get("$skiptoken")
        last_id = decode_token(token) if token else None
        page: list[JSON] = []
        more = False
        id_field = resource.id_field
        for obj in self.source_objects(resource, match.params, last_id, where):
            if predicate is not None and not predicate(obj):
                continue
            if size is not None and len(page) == size:
                more = True
                break
            page.append(obj)
        body: JSON = {"@odata.context": self.context_url(request, match, given_select)}
        if request.query.get("$count", "").lower() == "true":
            self.require_eventual(request, resource)
            body["@odata.count"] = sum(
                1
                for o in self.source_objects(resource, match.params, where=where)
                if predicate is None or predicate(o)
            )
        if more and page:
            body["@odata.nextLink"] = self.next_link(request, encode_token(str(page[-1][id_field])))
        body["value"] = [self.render(request, o, resource, select, expand) for o in page]
        return Response(200, body, objects=len(page))

    def next_link(self, request: Request, token: str) -> str:
        query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
        query["$skiptoken"] = token
        return f"{request.base_url}/{request.version}{request.path}?" + urlencode(
            query, quote_via=quote, safe="$,'():="
        )

    def require_eventual(self, request: Request, resource: Resource) -> None:
        if resource.directory_object and request.header("consistencylevel") != "eventual":
            raise bad_request("$count is not currently supported.", "Request_BadRequest")

    def count(self, request: Request, match: Match) -> Response:
        resource = match.resource
        self.require_eventual(request, resource)
        found = parse_filter(request.query["$filter"]) if "$filter" in request.query else None
        predicate = found.predicate if found else None
        if resource.kind == "links":
            items: Iterator[JSON] = (f[1] for i in self.link_ids(match) if (f := self.store.resolve(i)))
        else:
            items = self.source_objects(resource, match.params, where=found.equalities if found else None)
        total = sum(1 for o in items if predicate is None or predicate(o))
        return Response(200, str(total), {"Content-Type": "text/plain"})

    def get_object(self, match: Match) -> tuple[JSON, str]:
        resource = match.resource
        object_id = match.params.get("key") or match.params.get("id") or ""
        key = resource.key_for(match.params)
        entity_set = self.store.sets.get(key)
        obj = entity_set.get(object_id) if entity_set else None
        if obj is None and entity_set is not None:  # ids compare case-insensitively
            lowered = object_id.lower()
            obj = next((o for i, o in entity_set.objects.items() if i.lower() == lowered), None)
        if obj is None or (
            resource.match
            and not all(str(obj.get(p, "")).lower() == match.params[q].lower() for p, q in resource.match)
        ):
            raise not_found(object_id)
        return obj, key

    def item(self, request: Request, match: Match) -> Response:
        obj, key = self.get_object(match)
        resource = match.resource
        if request.method == "PATCH":
            return self.update(request, match, obj, key)
        if request.method == "DELETE":
            return self.delete(match, obj, key)
        select, given = self.selection(request, resource)
        expand = parse_expand(request.query["$expand"]) if "$expand" in request.query else []
        body = {"@odata.context": self.context_url(request, match, given, entity=True)}
        body.update(self.render(request, obj, resource, select, expand))
        return Response(200, body, objects=1)

    def singleton(self, request: Request, match: Match) -> Response:
        resource = match.resource
        key = resource.key_for(match.params)
        obj = self.store.singletons.get(key)
        if request.method == "PUT":
            if not isinstance(request.body, dict):
                raise bad_request("Empty Payload. JSON content expected.")
            self.store.singletons[key] = {**request.body}
            self.store.changes.record(key, key)
            return Response(204)
        if obj is None:
            raise not_found(key.rsplit("/", 1)[-1])
        if request.method == "PATCH":
            if not isinstance(request.body, dict):
                raise bad_request("Empty Payload. JSON content expected.")
            self.merge(obj, request.body, resource)
            self.store.changes.record(key, key)
            return Response(204)
        select, given = self.selection(request, resource)
        expand = parse_expand(request.query["$expand"]) if "$expand" in request.query else []
        body = {"@odata.context": self.context_url(request, match, given, entity=True)}
        body.update(self.render(request, obj, resource, select, expand))
        return Response(200, body, objects=1)

    # --- links ----------------------------------------------------------------------------------

    @staticmethod
    def link_key(resource: Resource) -> str:
        return resource.path.lstrip("/").replace("/{id}", "")

    def link_ids(self, match: Match) -> list[str]:
        source_id = match.params["id"]
        owner_set = match.resource.path.lstrip("/").split("/{id}")[0]
        if self.store.sets.get(owner_set) is not None and source_id not in self.store.sets[owner_set]:
            raise not_found(source_id)
        inverse = match.resource.extra.get("inverse")
        if inverse:  # the objects whose links (under these keys) name the source: appliesTo
            return self.store.linking(inverse, source_id)
        return self.store.linked(self.link_key(match.resource), source_id)

    def links(self, request: Request, match: Match) -> Response:
        resource = match.resource
        if match.mode == "ref" and request.method == "POST":
            return self.add_link(request, match)
        if match.mode == "item_ref":
            if request.method != "DELETE":
                raise GraphError(
                    405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
                )
            return self.remove_link(match)
        if match.mode == "item":
            target = match.params["key"]
            if target not in self.link_ids(match):
                raise not_found(target)
            found = self.store.resolve(target)
            if found is None:
                raise not_found(target)
            return Response(200, self.render_target(request, *found), objects=1)
        ids = self.link_ids(match)
        size = self.page_size(request, resource)
        token = request.query.get("$skiptoken")
        offset = int(decode_token(token)) if token else 0
        predicate = parse_filter(request.query["$filter"]).predicate if "$filter" in request.query else None
        select = (
            [s.strip() for s in request.query["$select"].split(",")] if "$select" in request.query else None
        )
        cast_type = match.cast
        page: list[JSON] = []
        position = offset
        more = False
        while position < len(ids):
            found = self.store.resolve(ids[position])
            position += 1
            if found is None:
                continue
            set_key, obj = found
            if cast_type and self.set_types.get(set_key, "").lower() != cast_type.lower():
                continue
            if predicate is not None and not predicate(obj):
                continue
            if match.mode == "ref":
                page.append(
                    {
                        "@odata.id": f"{request.base_url}/v2/{self.store.tenant_id}/directoryObjects/{obj['id']}"
                        f"/Microsoft.DirectoryServices.{self.set_types.get(set_key, 'x.directoryObject').split('.')[-1].capitalize()}"
                    }
                )
            else:
                page.append(
                    self.render_target(request, set_key, obj, select=[*select, "id"] if select else None)
                )
            if size is not None and len(page) == size:
                more = position < len(ids)
                break
        context = "directoryObjects" if not cast_type else cast_type.split(".")[-1] + "s"
        body: JSON = {"@odata.context": f"{request.base_url}/{request.version}/$metadata#{context}"}
        if request.query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(ids)
        if more:
            body["@odata.nextLink"] = self.next_link(request, encode_token(str(position)))
        body["value"] = page
        return Response(200, body, objects=len(page))

    @staticmethod
    def reference_id(body: Any) -> str:
        if not isinstance(body, dict) or not isinstance(body.get("@odata.id"), str):
            raise bad_request(
                "Invalid request body: an '@odata.id' reference is required.", "Request_BadRequest"
            )
        return (
            str(body["@odata.id"])
            .rstrip("/")
            .rsplit("/", 1)[-1]
            .removeprefix("directoryObjects(")
            .strip("')")
        )

    def add_link(self, request: Request, match: Match) -> Response:
        target = self.reference_id(request.body)
        source_id = match.params["id"]
        self.link_ids(match)
        if self.store.resolve(target) is None:
            raise not_found(target)
        key = self.link_key(match.resource)
        if not self.store.link(key, source_id, target):
            nav = key.rsplit("/", 1)[-1]
            raise bad_request(
                "One or more added object references already exist for the following modified "
                f"properties: '{nav}'.",
                "Request_BadRequest",
            )
        owner, nav = key.rsplit("/", 1)
        self.store.changes.record(owner, source_id, link=nav, target=target)
        return Response(204)

    def remove_link(self, match: Match) -> Response:
        source_id, target = match.params["id"], match.params["key"]
        key = self.link_key(match.resource)
        if not self.store.unlink(key, source_id, target):
            raise not_found(target)
        owner, nav = key.rsplit("/", 1)
        self.store.changes.record(owner, source_id, link=nav, target=target, removed=True)
        return Response(204)

    def single_link(self, request: Request, match: Match) -> Response:
        key = self.link_key(match.resource)
        source_id = match.params["id"]
        owner, nav = key.rsplit("/", 1)
        if match.mode == "ref" and request.method == "PUT":
            target = self.reference_id(request.body)
            if self.store.resolve(target) is None:
                raise not_found(target)
            previous = self.store.linked(key, source_id)
            self.store.links.setdefault(key, {})[source_id] = [target]
            for old in previous:
                if old != target:
                    self.store.changes.record(owner, source_id, link=nav, target=old, removed=True)
            self.store.changes.record(owner, source_id, link=nav, target=target)
            return Response(204)
        if match.mode == "ref" and request.method == "DELETE":
            current = self.store.linked(key, source_id)
            if not current:
                raise not_found(source_id)
            self.store.links[key].pop(source_id)
            self.store.changes.record(owner, source_id, link=nav, target=current[0], removed=True)
            return Response(204)
        ids = self.store.linked(key, source_id)
        found = self.store.resolve(ids[0]) if ids else None
        if found is None:
            raise not_found(nav)
        body = {"@odata.context": f"{request.base_url}/{request.version}/$metadata#directoryObjects/$entity"}
        body.update(self.render_target(request, *found))
        return Response(200, body, objects=1)

    # --- writing --------------------------------------------------------------------------------

    def merge(self, obj: JSON, body: JSON, resource: Resource) -> None:
        for prop, value in body.items():
            if prop.endswith("@odata.bind"):
                self.bind(resource, str(obj.get("id")), prop.removesuffix("@odata.bind"), value)
            elif prop == "@odata.type":
                continue
            else:
                obj[prop] = copy.deepcopy(value)

    def bind(self, resource: Resource, object_id: str, nav: str, value: Any) -> None:
        urls = value if isinstance(value, list) else [value]
        if nav in {"members", "owners"} and len(urls) > 20:
            raise bad_request("The maximum number of references that can be added in one request is 20.")
        key = f"{resource.key_for({})}/{nav}"
        for url in urls:
            target = self.reference_id({"@odata.id": url})
            if self.store.resolve(target) is None:
                raise not_found(target)
            if self.store.link(key, object_id, target):
                self.store.changes.record(resource.key_for({}), object_id, link=nav, target=target)

    def create(self, request: Request, match: Match) -> Response:
        resource = match.resource
        if not isinstance(request.body, dict):
            raise bad_request("Empty Payload. JSON content expected.")
        body = dict(request.body)
        binds = {k: body.pop(k) for k in list(body) if k.endswith("@odata.bind")}
        obj: JSON = {k: copy.deepcopy(v) for k, v in body.items()}
        if resource.id_field == "id":
            obj["id"] = str(uuid.uuid4())
        elif resource.id_field not in obj:
            raise bad_request(f"Property '{resource.id_field}' is required.")
        if resource.directory_object:
            obj.setdefault("deletedDateTime", None)
        if "createdDateTime" in resource.extra.get("stamps", ("createdDateTime",)):
            obj.setdefault("createdDateTime", isotime())
        if resource.on_create is not None:
            obj = resource.on_create(self.store, obj, dict(match.params))
        key = resource.key_for(match.params)
        entity_set = self.store.set(key, resource.id_field)
        if obj[resource.id_field] in entity_set:
            raise bad_request(
                f"An object with id '{obj[resource.id_field]}' already exists.", "Request_BadRequest"
            )
        self.store.add(key, obj, directory_object=resource.directory_object)
        for prop, value in binds.items():
            self.bind(resource, obj["id"], prop.removesuffix("@odata.bind"), value)
        self.store.changes.record(key, str(obj[resource.id_field]))
        body_out = {"@odata.context": self.context_url(request, match, None, entity=True)}
        body_out.update(self.render(request, obj, resource, None, []))
        return Response(
            201,
            body_out,
            {"Location": f"{request.base_url}/{request.version}/{key}/{obj[resource.id_field]}"},
            objects=1,
        )

    def update(self, request: Request, match: Match, obj: JSON, key: str) -> Response:
        if not isinstance(request.body, dict):
            raise bad_request("Empty Payload. JSON content expected.")
        read_only = set(match.resource.extra.get("read_only", ())) | {
            "id",
            "createdDateTime",
            "deletedDateTime",
        }
        touched = read_only.intersection(request.body) - {
            k for k in read_only if request.body.get(k) == obj.get(k)
        }
        if touched:
            raise bad_request(
                f"Property '{sorted(touched)[0]}' is read-only and cannot be set.", "Request_BadRequest"
            )
        self.merge(obj, request.body, match.resource)
        self.store.set(key).put(obj)
        self.store.changes.record(key, str(obj[match.resource.id_field]))
        return Response(204)

    def delete(self, match: Match, obj: JSON, key: str) -> Response:
        resource = match.resource
        object_id = str(obj[resource.id_field])
        if resource.extra.get("undeletable") and obj.get(resource.extra["undeletable"]):
            raise bad_request("Built-in objects cannot be deleted.", "Request_BadRequest")
        if resource.on_delete is not None:
            resource.on_delete(self.store, obj)
        self.store.sets[key].remove(object_id)
        if resource.soft_delete:
            deleted = {**obj, "deletedDateTime": isotime()}
            incoming = self.store.drop_references(object_id)
            self.store.recycle[object_id] = DeletedItem(
                deleted, key, utcnow(), self.store.links_of(key, object_id), incoming
            )
        else:
            incoming = self.store.drop_references(object_id)
            self.store.directory.pop(object_id, None)
        for link_key, source in incoming:  # sources that lost a link to the deleted object
            owner, nav = link_key.rsplit("/", 1)
            self.store.changes.record(owner, source, link=nav, target=object_id, removed=True)
        for link_key, by_source in self.store.links.items():
            if link_key.startswith(key + "/"):
                by_source.pop(object_id, None)
        self.store.changes.record(key, object_id, deleted=True, permanent=not resource.soft_delete)
        return Response(204)


def strip_paths(out: JSON, paths: Any) -> None:
    """Remove dotted ``paths`` (``"conditions.deviceStates"``) from a rendered copy, copying what it touches.

    A resource's ``extra={"strip": (...)}`` hides properties one API version lacks when both versions
    serve the same stored objects (e.g. beta-only Conditional Access properties on v1.0).
    """
    for path in paths:
        parts = str(path).split(".")
        node: Any = out
        for part in parts[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                node = None
                break
            node[part] = child = dict(child)
            node = child
        if isinstance(node, dict):
            node.pop(parts[-1], None)
