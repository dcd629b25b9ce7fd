"""fakegraph's own admin endpoints under ``/_fakegraph``: info, settings, faults, clients and mutations."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from entrasnap.fakegraph import mutate as mutations
from entrasnap.fakegraph.licensing import ALL_LICENSES
from entrasnap.fakegraph.odata import GraphError
from entrasnap.fakegraph.server import Client, FaultRule, settings_dict

if TYPE_CHECKING:
    from entrasnap.fakegraph.server import FakeGraph


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def add_admin_routes(app: web.Application, fake: FakeGraph) -> None:
    async def info(request: web.Request) -> web.Response:
        store = fake.store
        return _json(
            {
                "tenantId": store.tenant_id,
                "domain": store.domain,
                "size": store.size,
                "seed": store.seed,
                "licenses": sorted(store.licenses),
                "settings": settings_dict(fake.settings),
                "counts": {
                    key: len(s) for key, s in store.sets.items() if "/" not in key or key.count("/") < 2
                },
                "requests": fake.stats.requests,
                "batchItems": fake.stats.batch_items,
                "status": {str(k): v for k, v in fake.stats.status.items()},
                "resourceUnits": fake.limiter.units_used,
                "throttled": fake.limiter.throttled,
                "pacedRequests": fake.limiter.paced_requests,
                "bucket": {
                    "capacity": fake.limiter.units_per_window,
                    "refillSeconds": fake.limiter.window,
                },
                "apps": {
                    app: {"requests": u.requests, "resourceUnits": u.resource_units, "throttled": u.throttled}
                    for app, u in fake.stats.apps.items()
                },
                "longestPageChain": asdict(fake.stats.longest_chain),
            }
        )

    async def settings(request: web.Request) -> web.Response:
        try:
            values = await request.json()
            if not isinstance(values, dict):
                raise ValueError("settings must be a JSON object")
            licences = values.pop("licenses", None)
            if licences is not None:
                unknown = set(licences) - ALL_LICENSES
                if unknown:
                    raise ValueError(f"unknown licences: {', '.join(sorted(unknown))}")
                fake.store.licenses = set(licences)
            fake.apply_settings(values)
        except (ValueError, TypeError, GraphError) as exc:
            return _json({"error": exc.message if isinstance(exc, GraphError) else str(exc)}, 400)
        return _json({**settings_dict(fake.settings), "licenses": sorted(fake.store.licenses)})

    async def faults(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            fake.rules.clear()
            return _json({"rules": []})
        payload = await request.json()
        rules = payload if isinstance(payload, list) else [payload]
        try:
            fake.rules.extend(FaultRule(**rule) for rule in rules)
        except TypeError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"rules": len(fake.rules)})

    async def clients(request: web.Request) -> web.Response:
        payload = await request.json()
        fake.clients[payload["clientId"]] = Client(payload.get("secret"), list(payload.get("roles", [])))
        return _json({"clientId": payload["clientId"]})

    async def mutate(request: web.Request) -> web.Response:
        """Apply a realistic change (``{"action": ...}``, see mutate.ACTIONS) and summarize what changed."""
        try:
            payload = await request.json()
        except ValueError:
            return _json({"error": "body must be JSON"}, 400)
        try:
            with fake.lock:
                summary = mutations.apply(fake.store, payload)
        except mutations.MutationError as exc:
            return _json({"error": str(exc)}, 400)
        if summary["changes"]:
            for callback in fake.on_change:
                callback()
        return _json(summary)

    async def delta_settings(request: web.Request) -> web.Response:
        """Delta knobs: ``{"reset": true}`` makes every earlier delta token answer 410 Gone (forced resync);
        ``memberSlice`` sets how many links one page carries per object."""
        payload = await request.json() if request.can_read_body else {}
        engine = fake.engine
        if "memberSlice" in payload:
            engine.delta_member_slice = max(1, int(payload["memberSlice"]))
        if payload.get("reset", "memberSlice" not in payload):
            engine.delta_reset_at = time.time()
        return _json(
            {
                "resetAt": engine.delta_reset_at,
                "memberSlice": engine.delta_member_slice,
                "tokenTtl": engine.delta_token_ttl,
            }
        )

    app.router.add_post("/_fakegraph/mutate", mutate)
    app.router.add_post("/_fakegraph/delta", delta_settings)
    app.router.add_get("/_fakegraph/info", info)
    app.router.add_post("/_fakegraph/settings", settings)
    app.router.add_route("*", "/_fakegraph/faults", faults)
    app.router.add_post("/_fakegraph/clients", clients)
