"""The async Microsoft Graph client: paging, batching, throttling, retries and token refresh.

Every request carries ``x-ms-throttle-priority: Low``. Retry-After (429 and 503, top level and per batch
item) is honoured; without it the client backs off exponentially with full jitter. 5xx answers,
connection errors and responses cut off mid-body are retried up to ``max_retries`` times; a 401 asks the
token provider once for a fresh token. Concurrency adapts (AIMD) between 1 and ``max_concurrency`` until
the throttling has shown how fast resource units refill; from then on requests are paced by their units
at that rate (``flow.UnitPacer``), with as many in flight as allowed.
Requests with the same ``paced`` key (``"ca"`` for Conditional Access) go one at a time, at most one per
``pace_interval`` seconds. 400/403/404 and other answers are final: ``get``/``pages`` raise
GraphRequestError, ``batch`` returns them as results.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import orjson

from entrasnap import __version__
from entrasnap.graph.errors import GraphConnectionError, GraphRequestError
from entrasnap.graph.flow import AdaptiveLimit, Pacer, UnitPacer, backoff, parse_retry_after
from entrasnap.graph.models import BatchItem, BatchResult, ClientStats, EventHandler, GraphEvent
from entrasnap.graph.tokens import TokenProvider
from entrasnap.graph.transport import PoolTransport

BATCH_SIZE = 20  # Graph's maximum number of requests in one $batch
RETRY_STATUSES = frozenset({500, 502, 503, 504})


@dataclass
class _Reply:
    """A complete, decoded HTTP answer."""

    status: int
    headers: httpx.Headers
    body: Any
    url: str
    epoch: int  # the concurrency epoch the request was sent in (for AIMD)
    sent: float  # monotonic time it was sent (for pacing by resource units)


class GraphClient:
    """Reads (and writes) Microsoft Graph over one pooled HTTP/1.1 connection set."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenProvider,
        *,
        max_concurrency: int = 16,
        max_retries: int = 8,
        timeout: float = 100.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event: EventHandler | None = None,
        backoff_scale: float = 1.0,
        pace_interval: float = 1.0,
        max_throttle_retries: int = 50,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.max_retries = max_retries
        self.max_throttle_retries = max_throttle_retries
        self.backoff_scale = backoff_scale
        self.on_event = on_event
        self.stats = ClientStats()
        self._origin = _origin(httpx.URL(self.base_url))
        self._limit = AdaptiveLimit(max_concurrency)
        self._pacer = Pacer(pace_interval)
        self._units = UnitPacer()
        self._resume_at = 0.0  # monotonic time before which nothing is sent (after a 429 with Retry-After)
        self._rng = random.Random()
        limits = httpx.Limits(
            max_connections=max(1, max_concurrency), max_keepalive_connections=max(1, max_concurrency)
        )
        self._http = httpx.AsyncClient(
            timeout=timeout,
            limits=limits,  # for proxies' transports
            transport=transport if transport is not None else PoolTransport(limits),
            headers={"x-ms-throttle-priority": "Low", "User-Agent": f"entrasnap/{__version__}"},
        )

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- public API -------------------------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        paced: str | None = None,
        urgent: bool = False,
    ) -> Any:
        """GET ``url`` ("/v1.0/..." or an absolute nextLink) and return the decoded JSON body. ``urgent``:
        it continues a chain of requests (a nextLink), so it goes before requests waiting to start."""
        return await self.request("GET", url, params=params, headers=headers, paced=paced, urgent=urgent)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        paced: str | None = None,
        urgent: bool = False,
    ) -> Any:
        """Any request; returns the decoded body, raises GraphRequestError when it failed for good."""
        self.stats.requests += 1
        try:
            reply = await self._exchange(
                method, url, params=params, headers=headers, json=json, paced=paced, urgent=urgent
            )
            if reply.status >= 400:
                raise _error(reply)
        except GraphRequestError:
            self.stats.errors += 1
            raise
        return reply.body

    async def pages(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        paced: str | None = None,
    ) -> AsyncGenerator[list[dict[str, Any]]]:
        """Each page's ``value``, following ``@odata.nextLink``; ``headers`` are re-sent on every page.

        The next page is requested as soon as a page arrives, while the caller works on this one (a
        collection's pages are a chain of requests: the caller's own requests for a page's children
        would otherwise lengthen it); at most one page is read ahead.
        """
        current_url = url
        body = await self.get(url, params=params, headers=headers, paced=paced)
        while True:
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                # A page without its value list must never pass for an empty collection.
                raise GraphRequestError(
                    200, "UnexpectedResponse", "the answer is not a collection", url=current_url
                )
            next_url = body.get("@odata.nextLink")
            ahead = (
                asyncio.ensure_future(self.get(next_url, headers=headers, paced=paced, urgent=True))
                if next_url
                else None
            )
            try:
                yield body["value"]
            except BaseException:  # the caller stopped early or failed: the page read ahead is not wanted
                if ahead is not None:
                    ahead.cancel()
                    with contextlib.suppress(BaseException):
                        await ahead
                raise
            if ahead is None:
                return
            current_url, body = str(next_url), await ahead

    async def batch(
        self, items: list[BatchItem], *, version: str = "v1.0", urgent: bool = False
    ) -> list[BatchResult]:
        """Run ``items`` as ``$batch`` requests of up to 20 (concurrently); final results in input order.
        ``urgent``: the items continue chains (nextLinks), see ``get``."""
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            raise ValueError("batch item ids must be unique")
        self.stats.requests += len(items)
        chunks = [items[i : i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._batch_chunk(chunk, version, urgent)) for chunk in chunks]
        except* GraphRequestError as failed:
            raise failed.exceptions[0] from None
        results: dict[str, BatchResult] = {}
        for task in tasks:
            results.update(task.result())
        return [results[item.id] for item in items]

    # --- batches ----------------------------------------------------------------------------------

    async def _batch_chunk(
        self, chunk: list[BatchItem], version: str, urgent: bool = False
    ) -> dict[str, BatchResult]:
        url = f"/{version}/$batch"
        pending = list(chunk)
        results: dict[str, BatchResult] = {}
        failures = dict.fromkeys((item.id for item in chunk), 0)
        throttles = dict.fromkeys((item.id for item in chunk), 0)
        while pending:
            self.stats.batch_items += len(pending)
            reply = await self._exchange(
                "POST",
                url,
                json={"requests": [_batch_request(i) for i in pending]},
                requests=len(pending),
                urgent=urgent,
            )
            if reply.status >= 400 or not isinstance(reply.body, dict):
                self.stats.errors += 1
                raise _error(reply)
            answers = {str(a.get("id")): a for a in reply.body.get("responses", []) if isinstance(a, dict)}
            retry: list[BatchItem] = []
            wait = 0.0
            throttled = False
            last_status = 0
            for item in pending:
                answer = answers.get(item.id)
                status = int(answer.get("status", 0)) if answer is not None else 0
                headers = {str(k): str(v) for k, v in ((answer or {}).get("headers") or {}).items()}
                self._count_units(headers.get("x-ms-resource-unit"), status, reply.sent)
                retry_after = parse_retry_after(_header(headers, "Retry-After"))
                if status == 429 and throttles[item.id] < self.max_throttle_retries:
                    self.stats.throttled += 1
                    throttled = True
                    delay = retry_after if retry_after is not None else self._backoff(throttles[item.id])
                    throttles[item.id] += 1
                elif (status in RETRY_STATUSES or answer is None) and failures[item.id] < self.max_retries:
                    delay = retry_after if retry_after is not None else self._backoff(failures[item.id])
                    failures[item.id] += 1
                else:
                    if answer is None:
                        raise GraphRequestError(
                            502, "BatchResponseMissing", f"no answer for batch item '{item.id}'", url=url
                        )
                    if status == 429:
                        self.stats.throttled += 1
                    if status >= 400:
                        self.stats.errors += 1
                    results[item.id] = BatchResult(item.id, status, headers, answer.get("body"))
                    continue
                retry.append(item)
                last_status = status
                wait = max(wait, delay)
            if retry:
                if throttled:
                    await self._throttled(reply)
                    self._resume_at = max(self._resume_at, time.monotonic() + wait)
                self.stats.retries += len(retry)
                self._emit(
                    "throttled" if throttled else "retry", url, 429 if throttled else last_status, 0, wait
                )
                await self._sleep(wait)
            pending = retry
        return results

    # --- one request with retries -----------------------------------------------------------------

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        paced: str | None = None,
        requests: int = 1,
        urgent: bool = False,
    ) -> _Reply:
        """Send until the answer is final; returns it (2xx or a status not worth retrying). ``requests``:
        how many Graph requests it carries (a $batch's items), for pacing by resource units."""
        target = self._resolve(url)
        content = orjson.dumps(json) if json is not None else None
        failures = 0
        throttles = 0
        refresh = False  # ask for a new token: the last one was rejected
        rejected = 0  # consecutive 401s
        while True:
            send_headers = {**(headers or {}), "client-request-id": str(uuid.uuid4())}
            if content is not None:
                send_headers["Content-Type"] = "application/json"
            reply: _Reply | None = None
            problem: Exception | None = None
            async with self._pacer.turn(paced) as paced_wait:
                self.stats.wait_seconds += paced_wait
                await self._sleep(self._resume_at - time.monotonic())
                async with self._limit.slot(urgent) as epoch:
                    # Paced in the slot, so that nothing let through before the rate was known is sent
                    # after it. The token is taken right before sending: waits for a slot, pacing or
                    # Retry-After may outlast a token fetched earlier.
                    self.stats.wait_seconds += await self._units.take(requests, urgent)
                    token = await self.tokens.token(refresh=refresh)
                    refresh = False
                    send_headers["Authorization"] = f"Bearer {token}"
                    self.stats.round_trips += 1
                    sent = time.monotonic()
                    try:
                        response = await self._http.request(
                            method, target, params=params, headers=send_headers, content=content
                        )
                        body = _decode(response)
                        reply = _Reply(response.status_code, response.headers, body, target, epoch, sent)
                    except (httpx.TransportError, orjson.JSONDecodeError) as exc:
                        problem = exc
            if reply is not None:  # a $batch's items are charged (and counted) one by one
                self._count_units(
                    reply.headers.get("x-ms-resource-unit"),
                    reply.status,
                    reply.sent,
                    charged=not target.endswith("/$batch"),
                )
            status = reply.status if reply is not None else 0

            if reply is not None and status < 400:
                self._limit.succeeded()
                return reply
            if reply is not None and status == 401 and rejected < 1:
                rejected += 1
                refresh = True
                self.stats.retries += 1
                self._emit("token-refresh", target, 401, rejected, 0.0)
                continue
            rejected = 0 if status != 401 else rejected
            if reply is not None and status == 429:
                self.stats.throttled += 1
                if paced is None:  # pacing limits are separate from the resource-unit budget
                    await self._throttled(reply)
                if throttles >= self.max_throttle_retries:
                    return reply
                retry_after = parse_retry_after(reply.headers.get("Retry-After"))
                wait = retry_after if retry_after is not None else self._backoff(throttles)
                throttles += 1
                if retry_after is not None and paced is None:
                    self._resume_at = max(self._resume_at, time.monotonic() + wait)
                self._emit("throttled", target, 429, throttles, wait)
            elif problem is not None or status in RETRY_STATUSES:
                if failures >= self.max_retries:
                    if reply is not None:
                        return reply
                    raise GraphConnectionError(
                        f"{_describe(problem)} after {failures + 1} attempts", url=target
                    ) from problem
                retry_after = parse_retry_after(reply.headers.get("Retry-After")) if reply else None
                wait = retry_after if retry_after is not None else self._backoff(failures)
                failures += 1
                self._emit("retry", target, status, failures, wait, _describe(problem) if problem else "")
            else:
                assert reply is not None
                return reply
            self.stats.retries += 1
            await self._sleep(wait)

    # --- helpers ----------------------------------------------------------------------------------

    def _resolve(self, url: str) -> str:
        """An absolute URL on the base URL's origin (the token is never sent anywhere else)."""
        if url.startswith("/"):
            return self.base_url + url
        if _origin(httpx.URL(url)) != self._origin:
            raise GraphRequestError(
                0, "UnexpectedHost", f"refusing to send the access token outside {self.base_url}", url=url
            )
        return url

    def _backoff(self, attempt: int) -> float:
        return backoff(attempt, self.backoff_scale, self._rng)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.wait_seconds += seconds
            await asyncio.sleep(seconds)

    def _count_units(self, value: str | None, status: int, sent: float, *, charged: bool = True) -> None:
        """Note the resource units of a Graph answer to a request sent at ``sent``; a ``charged`` answer
        that does not say cost 1 (Graph's documented cost of most requests) as far as pacing is concerned."""
        units = int(value) if value is not None and value.strip().isdigit() else None
        if units is not None:
            self.stats.resource_units += units
        if charged and status != 429:
            self._units.spent(1 if units is None else units, sent)

    async def _throttled(self, reply: _Reply) -> None:
        """A 429 for want of resource units: the unit pacer learns from it. Until it knows the rate, the
        requests in flight are halved; from then on the rate keeps the service's bucket from running dry and
        as many requests as allowed stay in flight, to hide latency."""
        known = self._units.rate is not None
        self._units.throttled(reply.sent)
        if self._units.rate is None:
            await self._limit.throttled(reply.epoch)
        elif not known:
            self._limit.restore()

    def _emit(self, kind: str, url: str, status: int, attempt: int, wait: float, detail: str = "") -> None:
        if self.on_event is not None:
            self.on_event(GraphEvent(kind, url, status, attempt, wait, detail))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _decode(response: httpx.Response) -> Any:
    """The body as JSON (or text when not JSON); raises JSONDecodeError on a cut-off JSON body."""
    if not response.content:
        return None
    if "json" in response.headers.get("Content-Type", "json"):
        return orjson.loads(response.content)
    return response.text


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _batch_request(item: BatchItem) -> dict[str, Any]:
    request: dict[str, Any] = {"id": item.id, "method": item.method, "url": item.url}
    headers = dict(item.headers)
    if item.body is not None:
        request["body"] = item.body
        if _header(headers, "Content-Type") is None:
            headers["Content-Type"] = "application/json"
    if headers:
        request["headers"] = headers
    return request


def _describe(problem: Exception | None) -> str:
    if problem is None:
        return "no answer"
    text = " ".join(str(problem).split()) or "no detail"
    kind = "incomplete JSON body" if isinstance(problem, orjson.JSONDecodeError) else type(problem).__name__
    return f"{kind}: {text}"


def _error(reply: _Reply) -> GraphRequestError:
    """The GraphRequestError for a final error answer (Graph's error body when there is one)."""
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    code, message = "UnknownError", f"HTTP {reply.status}"
    request_id = reply.headers.get("request-id")
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        inner = error.get("innerError")
        if request_id is None and isinstance(inner, dict) and inner.get("request-id"):
            request_id = str(inner["request-id"])
    elif isinstance(reply.body, str) and reply.body.strip():
        message = " ".join(reply.body.split())[:200]
    if reply.status == 401:
        message = f"Graph rejected the access token even after refreshing it: {message}"
    elif reply.status == 429:
        message = f"still throttled after every retry: {message}"
    return GraphRequestError(reply.status, code, message, url=reply.url, request_id=request_id)
