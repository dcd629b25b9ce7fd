"""fakegraph over real HTTP: an aiohttp server with Graph's URLs, tokens, latency and faults."""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from entrasnap.fakegraph import auth
from entrasnap.fakegraph.areas import all_resources
from entrasnap.fakegraph.batch import run_batch
from entrasnap.fakegraph.context import SIZES
from entrasnap.fakegraph.engine import JSON_TYPE, Engine, Request, Response
from entrasnap.fakegraph.odata import GraphError, bad_request, error_body, new_request_id
from entrasnap.fakegraph.resource import Resource
from entrasnap.fakegraph.state import JSON, Store
from entrasnap.fakegraph.throttle import Limiter

VERSIONS = ("v1.0", "beta")


@dataclass
class Settings:
    """Behaviour knobs; every one is also a ``fakegraph serve`` option."""

    time_scale: float = 1.0  # multiplies every delay, window and Retry-After (0.01: 100x faster)
    latency_ms: float = 0.0  # base latency of each request
    per_object_ms: float = 0.0  # added latency per object returned
    error_rate: float = 0.0  # share of requests answered 500/502/503/504
    drop_rate: float = 0.0  # share of responses cut off mid-body (connection dropped)
    slow_rate: float = 0.0  # share of requests delayed by slow_ms more
    slow_ms: float = 5_000.0
    throttling: bool = True
    resource_units: int | None = None  # bucket size per 10 s; default by tenant size
    delta_token_ttl: float = 7 * 24 * 3600.0  # seconds a delta token stays valid
    token_lifetime: float = 3599.0  # seconds an issued access token is valid
    fault_seed: int = 0

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise bad_request(f"Unknown setting '{key}'.")
            setattr(self, key, value)


@dataclass
class FaultRule:
    """A scripted fault: requests whose path matches ``path`` get ``fault`` ``times`` times."""

    path: str
    fault: str  # an HTTP status ("503"), "drop" or "slow"
    times: int = 1
    method: str | None = None
    retry_after: float | None = None
    delay_ms: float = 0.0


@dataclass
class Client:
    secret: str | None
    roles: list[str]


@dataclass
class AppUsage:
    """What one app (client id) asked of the tenant: Graph requests (batch items count one each)."""

    requests: int = 0
    resource_units: int = 0  # as charged in x-ms-resource-unit
    throttled: int = 0


@dataclass
class PageChain:
    """Pages of one collection read one after another through ``@odata.nextLink``."""

    path: str
    pages: int = 0
    objects: int = 0


@dataclass
class Stats:
    requests: int = 0  # HTTP round trips on the Graph URLs ($batch counts once)
    batch_items: int = 0
    status: dict[int, int] = field(default_factory=dict)
    apps: dict[str, AppUsage] = field(default_factory=dict)
    open_chains: dict[str, PageChain] = field(default_factory=dict)  # collections being paged now
    longest_chain: PageChain = field(default_factory=lambda: PageChain("", 1, 0))

    def record(self, app_id: str, request: Request, response: Response) -> None:
        """Count one answered Graph request for ``app_id``, and the page chain it belongs to."""
        usage = self.apps.setdefault(app_id, AppUsage())
        usage.requests += 1
        usage.throttled += response.status == 429
        units = response.headers.get("x-ms-resource-unit", "")
        usage.resource_units += int(units) if units.isdigit() else 0
        if request.method != "GET" or response.status != 200 or not isinstance(response.body, dict):
            return
        key = f"/{request.version}{request.path}"
        more = "@odata.nextLink" in response.body
        chain = self.open_chains.pop(key, None) if "$skiptoken" in request.query else None
        if chain is None and not more:
            return
        chain = chain or PageChain(key)
        chain.pages += 1
        chain.objects += response.objects
        if more:
            self.open_chains[key] = chain
        elif chain.pages > self.longest_chain.pages:
            self.longest_chain = chain


class FakeGraph:
    """One fake tenant served over HTTP: state, engine, throttling, faults and admin endpoints."""

    def __init__(
        self, store: Store, settings: Settings | None = None, extra_handlers: dict[str, Any] | None = None
    ) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.resources: list[Resource] = all_resources()
        self.limiter = Limiter(
            self.settings.resource_units or SIZES[store.size].resource_units_per_10s,
            self.settings.time_scale,
            self.settings.throttling,
        )
        from entrasnap.fakegraph import delta, recycle

        handlers = {"delta": delta.handle, **(extra_handlers or {})}
        self.engine = Engine(store, self.resources + recycle.RESOURCES, self.limiter, handlers)
        self.engine.delta_token_ttl = self.settings.delta_token_ttl
        self.rng = random.Random(self.settings.fault_seed)
        self.rules: list[FaultRule] = []
        self.clients: dict[str, Client] = {}
        self.stats = Stats()
        self.lock = threading.RLock()  # state, engine and stats: held while a request is answered
        self.fault_lock = threading.Lock()  # rules and rng only: picking a fault never waits for an answer
        self.on_change: list[Callable[[], None]] = []

    # --- settings -------------------------------------------------------------------------------

    def apply_settings(self, values: dict[str, Any]) -> None:
        self.settings.update(values)
        self.limiter.time_scale = self.settings.time_scale
        self.limiter.enabled = self.settings.throttling
        self.engine.delta_token_ttl = self.settings.delta_token_ttl
        if self.settings.resource_units:
            self.limiter.units_per_window = self.settings.resource_units
            self.limiter.buckets.clear()

    def all_permissions(self) -> list[str]:
        return sorted({p for r in self.resources for p in (*r.read, *r.write)})

    # --- graph requests -------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        version: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        base_url: str,
    ) -> Response:
        """Authenticate and answer one Graph request (not a batch)."""
        try:
            principal = auth.authenticate(headers.get("authorization"), self.store.tenant_id)
        except GraphError as error:
            return Response(error.status, error.body(new_request_id()), dict(error.headers))
        return self._run(method, version, path, query, headers, body, base_url, principal)

    def _run(
        self,
        method: str,
        version: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        base_url: str,
        principal: auth.Principal,
    ) -> Response:
        request = Request(
            method, version, path, query, headers, body, base_url, principal.permissions, principal.app_id
        )
        with self.lock:
            response = self.engine.handle(request)
            self.stats.record(principal.app_id, request, response)
        self.stats.status[response.status] = self.stats.status.get(response.status, 0) + 1
        return response

    def batch(self, version: str, headers: dict[str, str], payload: Any, base_url: str) -> Response:
        try:
            principal = auth.authenticate(headers.get("authorization"), self.store.tenant_id)
        except GraphError as error:
            return Response(error.status, error.body(new_request_id()), dict(error.headers))
        objects = 0

        def run(
            method: str, path: str, query: dict[str, str], item_headers: dict[str, str], body: Any
        ) -> tuple[int, dict[str, str], Any]:
            nonlocal objects
            self.stats.batch_items += 1
            merged = {**headers, **item_headers}
            response = self._run(method, version, path, query, merged, body, base_url, principal)
            objects += response.objects
            out_headers = {k: v for k, v in response.headers.items() if k.lower() not in {"request-id"}}
            return response.status, out_headers, response.body

        try:
            envelope = run_batch(payload, run)
        except GraphError as error:
            return Response(error.status, error.body(new_request_id()), dict(error.headers))
        return Response(200, envelope, {"Content-Type": JSON_TYPE}, objects=objects)

    # --- tokens ---------------------------------------------------------------------------------

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, JSON]:
        """The client-credentials grant of ``/{tenant}/oauth2/v2.0/token``."""
        if tenant.lower() not in {self.store.tenant_id, self.store.domain.lower()}:
            return 400, _aad_error(
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        if form.get("grant_type") != "client_credentials":
            return 400, _aad_error(
                "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if not form.get("scope", "").endswith("/.default"):
            return 400, _aad_error(
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier.",
            )
        client_id = form.get("client_id", "")
        client = self.clients.get(client_id)
        if (
            client is not None
            and client.secret is not None
            and "client_assertion" not in form
            and form.get("client_secret") != client.secret
        ):
            return 401, _aad_error(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the "
                "client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        roles = client.roles if client is not None else self.all_permissions()
        lifetime = self.settings.token_lifetime
        token = auth.issue_token(
            self.store.tenant_id, roles, app_id=client_id or auth.DEFAULT_APP_ID, lifetime=lifetime
        )
        return 200, {
            "token_type": "Bearer",
            "expires_in": int(lifetime),
            "ext_expires_in": int(lifetime),
            "access_token": token,
        }

    # --- faults ---------------------------------------------------------------------------------

    def pick_fault(self, method: str, path: str) -> FaultRule | None:
        with self.fault_lock:
            for rule in self.rules:
                if rule.times > 0 and re.search(rule.path, path) and rule.method in (None, method):
                    rule.times -= 1
                    return rule
            roll = self.rng.random()
            s = self.settings
            if roll < s.error_rate:
                return FaultRule(".", str(self.rng.choice([500, 502, 503, 504])))
            if roll < s.error_rate + s.drop_rate:
                return FaultRule(".", "drop")
            if roll < s.error_rate + s.drop_rate + s.slow_rate:
                return FaultRule(".", "slow", delay_ms=s.slow_ms)
        return None


def _aad_error(error: str, code: int, description: str) -> JSON:
    trace = new_request_id()
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: "
        f"{new_request_id()} Timestamp: {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}",
        "error_codes": [code],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": trace,
        "correlation_id": new_request_id(),
    }


def _dumps(body: Any) -> bytes:
    return orjson.dumps(body)


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def _read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format."
        ) from exc


def build_app(fake: FakeGraph) -> web.Application:
    """The aiohttp application serving ``fake``."""

    async def respond(
        request: web.Request, response: Response, fault: FaultRule | None
    ) -> web.StreamResponse:
        s = fake.settings
        delay = (s.latency_ms + s.per_object_ms * response.objects) * s.time_scale / 1000
        if fault is not None and fault.fault == "slow":
            delay += (fault.delay_ms or s.slow_ms) * s.time_scale / 1000
        if delay > 0:
            await asyncio.sleep(delay)
        headers = dict(response.headers)
        if isinstance(response.body, str):
            payload = response.body.encode()
            headers.setdefault("Content-Type", "text/plain")
        elif response.body is None:
            payload = b""
        else:
            payload = _dumps(response.body)
            headers["Content-Type"] = JSON_TYPE
        if fault is not None and fault.fault == "drop" and len(payload) > 1:
            stream = web.StreamResponse(status=response.status, headers=headers)
            stream.content_length = len(payload)
            await stream.prepare(request)
            await stream.write(payload[: len(payload) // 2])
            if request.transport is not None:
                request.transport.abort()
            return stream
        return web.Response(status=response.status, body=payload, headers=headers)

    def fault_response(fault: FaultRule) -> Response | None:
        if not fault.fault.isdigit():
            return None
        status = int(fault.fault)
        codes = {
            500: "InternalServerError",
            502: "BadGateway",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
            429: "TooManyRequests",
        }
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        message = "Please retry again later." if status == 429 else "The service is temporarily unavailable."
        return Response(
            status, error_body(codes.get(status, "UnknownError"), message, new_request_id()), headers
        )

    async def graph(request: web.Request) -> web.StreamResponse:
        version = request.match_info["version"]
        path = "/" + request.match_info["path"]
        fake.stats.requests += 1
        headers = {k.lower(): v for k, v in request.headers.items()}
        fault = fake.pick_fault(request.method, path)
        if fault is not None and (failed := fault_response(fault)) is not None:
            return await respond(request, failed, None)
        try:
            body = await _read_json(request)
        except GraphError as error:
            return await respond(request, Response(error.status, error.body(new_request_id())), None)
        query = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
        base = _base_url(request)
        if path.rstrip("/") == "/$batch":
            if request.method != "POST":
                response = Response(
                    405,
                    error_body(
                        "Request_BadRequest",
                        "Specified HTTP method is not allowed for the request target.",
                        new_request_id(),
                    ),
                )
            else:
                response = await asyncio.to_thread(fake.batch, version, headers, body, base)
        else:
            response = await asyncio.to_thread(
                fake.handle, request.method, version, path, query, headers, body, base
            )
        if response.status < 400 and request.method != "GET":
            for callback in fake.on_change:
                callback()
        return await respond(request, response, fault)

    async def unknown_version(request: web.Request) -> web.Response:
        segment = request.match_info.get("version", "")
        body = error_body("BadRequest", f"Invalid version: {segment}", new_request_id())
        return web.Response(status=400, body=_dumps(body), content_type="application/json")

    async def token(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        status, body = fake.token(request.match_info["tenant"], form)
        return web.Response(status=status, body=_dumps(body), content_type="application/json")

    async def openid(request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        base = _base_url(request)
        body = {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "issuer": f"{base}/{fake.store.tenant_id}/v2.0",
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
        }
        return web.Response(body=_dumps(body), content_type="application/json")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    from entrasnap.fakegraph.admin import add_admin_routes

    add_admin_routes(app, fake)
    app.router.add_route("POST", "/{tenant}/oauth2/v2.0/token", token)
    app.router.add_route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", openid)
    for version in VERSIONS:
        app.router.add_route("*", "/{version:" + re.escape(version) + "}/{path:.*}", graph)
    app.router.add_route("*", "/{version:v[^/]*|beta[^/]*}/{path:.*}", unknown_version)
    return app


class ServerThread:
    """Runs a FakeGraph on loopback in a background thread (for tests and the demo)."""

    def __init__(self, fake: FakeGraph, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fakegraph", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(build_app(self.fake), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        if server is not None and self.port == 0:
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def settings_dict(settings: Settings) -> dict[str, Any]:
    return asdict(settings)
