"""GraphClient against fakegraph over real HTTP: paging, throttling, pacing, batching, faults, tokens."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from entrasnap.fakegraph import auth
from entrasnap.fakegraph.service import RunningFakeGraph
from entrasnap.graph import (
    BatchItem,
    GraphClient,
    GraphConnectionError,
    GraphEvent,
    GraphRequestError,
    StaticToken,
)
from entrasnap.graph.flow import AdaptiveLimit, UnitPacer

Factory = Callable[..., RunningFakeGraph]
CA = "/v1.0/identity/conditionalAccess/policies"


def make_client(fake: RunningFakeGraph, roles: list[str] | None = None, **kwargs: Any) -> GraphClient:
    kwargs.setdefault("backoff_scale", 0.01)
    return GraphClient(fake.url, StaticToken(fake.token(roles)), **kwargs)


def add_fault(fake: RunningFakeGraph, **rule: Any) -> None:
    response = httpx.post(f"{fake.url}/_fakegraph/faults", json=rule)
    assert response.status_code < 300, response.text


async def read_ids(client: GraphClient, url: str, **kwargs: Any) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    async for page in client.pages(url, **kwargs):
        pages += 1
        ids.extend(obj["id"] for obj in page)
    return ids, pages


# --- paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("top", "expected_pages"), [(999, 1), (5, 40)])
async def test_pages_read_every_user_with_consistency_level_on_every_page(
    fakegraph_factory: Factory, top: int, expected_pages: int
) -> None:
    fake = fakegraph_factory(throttling=False)
    store_ids = fake.store.sets["users"].ids()
    assert len(store_ids) == 200
    async with make_client(fake) as client:
        ids, pages = await read_ids(
            client,
            "/v1.0/users",
            params={"$top": top, "$count": "true", "$select": "id,displayName"},
            headers={"ConsistencyLevel": "eventual"},
        )
    assert sorted(ids) == sorted(store_ids)
    assert len(ids) == len(set(ids))
    assert pages == expected_pages
    assert client.stats.requests == pages
    assert client.stats.round_trips == pages
    assert client.stats.resource_units >= pages


async def test_the_next_page_is_read_while_the_caller_works_on_this_one(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    seen: list[int] = []
    async with make_client(fake) as client:
        async for _ in client.pages("/v1.0/users", params={"$top": 80, "$select": "id"}):
            await asyncio.sleep(0.3)  # the caller's own work on the page
            seen.append(client.stats.round_trips)
        assert seen == [2, 3, 3]  # page 2 was asked for while page 1 was being worked on; no page 4
        # A caller that stops early leaves no request running behind it.
        async for _ in client.pages("/v1.0/users", params={"$top": 80, "$select": "id"}):
            break
        await asyncio.sleep(0.3)
        assert client.stats.round_trips - seen[-1] <= 2


async def test_count_without_consistency_level_is_refused(fakegraph_factory: Factory) -> None:
    """The control for the test above: fakegraph does check the header on paged $count queries."""
    fake = fakegraph_factory(throttling=False)
    async with make_client(fake) as client:
        with pytest.raises(GraphRequestError) as caught:
            await read_ids(client, "/v1.0/users", params={"$top": 5, "$count": "true"})
    assert caught.value.status == 400


async def test_next_link_to_another_host_is_refused(fakegraph: RunningFakeGraph) -> None:
    async with make_client(fakegraph) as client:
        with pytest.raises(GraphRequestError) as caught:
            await client.get("https://elsewhere.example/v1.0/users")
    assert caught.value.code == "UnexpectedHost"
    assert client.stats.round_trips == 0


# --- throttling and pacing -----------------------------------------------------------------------


async def test_throttling_storm_completes_every_read(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(resource_units=30, time_scale=0.1)  # refills 30 units a second
    user_ids = fake.store.sets["users"].ids()[:80]
    events: list[GraphEvent] = []
    async with make_client(fake, on_event=events.append) as client:
        bodies = await asyncio.gather(*(client.get(f"/v1.0/users/{uid}") for uid in user_ids))
    assert [body["id"] for body in bodies] == user_ids
    assert client.stats.throttled > 0
    assert client.stats.retries >= client.stats.throttled
    assert client.stats.wait_seconds > 0
    assert client.stats.requests == 80
    assert any(event.kind == "throttled" for event in events)


async def test_429_without_retry_after_backs_off(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    add_fault(fake, path="^/users$", fault="429", times=3)
    async with make_client(fake) as client:
        body = await client.get("/v1.0/users", params={"$top": 5})
    assert len(body["value"]) == 5
    assert client.stats.throttled == 3
    assert client.stats.round_trips == 4
    assert client.stats.wait_seconds > 0


async def test_503_retry_after_is_honoured(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    add_fault(fake, path="^/users$", fault="503", times=1, retry_after=0.3)
    started = time.monotonic()
    async with make_client(fake) as client:
        await client.get("/v1.0/users", params={"$top": 1})
    assert time.monotonic() - started >= 0.3
    assert client.stats.wait_seconds == pytest.approx(0.3)
    assert client.stats.round_trips == 2


async def test_paced_requests_are_never_throttled(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(time_scale=0.05)
    async with make_client(fake, pace_interval=0.05) as client:
        for _ in range(5):
            await client.get(CA, paced="ca")
        await asyncio.gather(*(client.get(CA, paced="ca") for _ in range(5)))
    assert client.stats.throttled == 0
    assert client.stats.round_trips == 10


async def test_unpaced_ca_requests_are_throttled(fakegraph_factory: Factory) -> None:
    """The control for pacing: the same requests without it meet the one-per-interval limit."""
    fake = fakegraph_factory(time_scale=0.05)
    async with make_client(fake) as client:
        await asyncio.gather(*(client.get(CA) for _ in range(5)))
    assert client.stats.throttled > 0


async def test_adaptive_limit_halves_once_per_epoch_and_grows_back() -> None:
    limit = AdaptiveLimit(16)
    async with limit.slot() as first, limit.slot() as second:
        assert first == second == 0
    await limit.throttled(first)
    await limit.throttled(second)  # same overload: no second halving
    assert limit.limit == 8
    for _ in range(200):
        limit.succeeded()
    assert limit.limit == 16


async def test_adaptive_limit_lets_urgent_requests_go_first_and_wakes_one_waiter_per_slot() -> None:
    """A freed slot goes to the first urgent waiter (a chain's next page), then to the others in order."""
    limit = AdaptiveLimit(2)
    order: list[str] = []
    release = asyncio.Event()

    async def request(name: str, urgent: bool = False) -> None:
        async with limit.slot(urgent):
            order.append(name)
            await release.wait()

    holders = [asyncio.ensure_future(request(n)) for n in ("a", "b")]
    await asyncio.sleep(0)
    waiters = [asyncio.ensure_future(request(n)) for n in ("c", "d")]
    urgent = asyncio.ensure_future(request("next page", urgent=True))
    gone = asyncio.ensure_future(request("cancelled", urgent=True))
    await asyncio.sleep(0)
    assert order == ["a", "b"] and limit.in_flight == 2
    gone.cancel()
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*holders, *waiters, urgent)
    assert order == ["a", "b", "next page", "c", "d"]
    assert limit.in_flight == 0


async def test_adaptive_limit_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    limit = AdaptiveLimit(1)
    first = asyncio.Event()

    async def hold() -> None:
        async with limit.slot():
            await first.wait()

    holder = asyncio.ensure_future(hold())
    await asyncio.sleep(0)
    cancelled = asyncio.ensure_future(hold())
    later = asyncio.ensure_future(hold())
    await asyncio.sleep(0)
    first.set()
    await asyncio.sleep(0)  # the holder leaves: the slot is handed to the first waiter...
    cancelled.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(holder, later)
    assert cancelled.cancelled() and limit.in_flight == 0


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))


async def test_unit_pacer_learns_the_refill_rate_between_two_empty_moments() -> None:
    clock = _Clock()
    pacer = UnitPacer(clock=clock, sleep=clock.sleep)
    pacer.spent(300, 99.0)  # sent before the bucket was found empty: not part of any span
    pacer.throttled(100.0)  # a request sent at 100.0 found the bucket empty
    for n in range(500):
        pacer.spent(1, 100.0 + n / 500)
    pacer.throttled(101.0)  # too soon after the first to measure
    assert pacer.rate is None
    for n in range(1000):
        pacer.spent(1, 101.0 + n / 500)
    pacer.throttled(99.5)  # the answer to an older request: nothing new
    pacer.throttled(103.0)
    assert pacer.rate == pytest.approx(500 * UnitPacer.SHARE)  # 1,500 units sent in the 3 s between
    pacer.throttled(103.0)  # the same moment again: nothing to measure
    assert pacer.rate == pytest.approx(500 * UnitPacer.SHARE)
    pacer.spent(100, 110.0)
    pacer.throttled(130.0)  # too long: the bucket may have filled up and overflowed meanwhile
    assert pacer.rate == pytest.approx(500 * UnitPacer.SHARE)


async def test_unit_pacer_spaces_requests_by_their_expected_units_and_probes_for_more() -> None:
    clock = _Clock()
    pacer = UnitPacer(clock=clock, sleep=clock.sleep, probe=2.0)
    assert await pacer.take(20) == 0.0  # no rate known: nothing waits
    pacer.throttled(97.0)
    for n in range(300):
        pacer.spent(1, 97.0 + n / 100)
    pacer.throttled(100.0)
    rate = 100 * UnitPacer.SHARE
    assert pacer.rate == pytest.approx(rate)
    for _ in range(4):
        await pacer.take(19)  # $batches of 19 requests of 1 unit
    step = 19 / rate
    assert clock.slept == pytest.approx(
        [2 * step - UnitPacer.BURST, 3 * step - UnitPacer.BURST]
    )  # after a burst
    clock.now += 2.0  # no 429 for a while: try a little faster
    await pacer.take(1)
    assert pacer.rate == pytest.approx(rate * 1.1)


async def test_unit_pacer_lets_the_next_page_of_a_chain_go_at_once_at_the_others_expense() -> None:
    clock = _Clock()
    pacer = UnitPacer(clock=clock, sleep=clock.sleep, probe=60.0)
    pacer.throttled(97.0)
    for n in range(300):
        pacer.spent(1, 97.0 + n / 100)
    pacer.throttled(100.0)
    rate = 100 * UnitPacer.SHARE
    for _ in range(3):
        await pacer.take(19)
    waited = list(clock.slept)
    assert await pacer.take(1, urgent=True) == 0.0  # a next page does not wait its turn...
    assert clock.slept == waited
    await pacer.take(19)  # ...but its unit is taken from the next request's turn
    assert clock.slept[-1] == pytest.approx(3 * 19 / rate + 1 / rate - UnitPacer.BURST)


async def test_requests_paced_by_resource_units_meet_few_429s(fakegraph_factory: Factory) -> None:
    """A bucket of 100 units refilled every second: the first 600 requests teach the client its rate (with a
    storm of 429s while they do); the next 600 keep to it."""
    fake = fakegraph_factory(resource_units=100, time_scale=0.1)
    user_ids = fake.store.sets["users"].ids()
    items = [
        BatchItem(str(n), "GET", f"/users/{user_ids[n % len(user_ids)]}?$select=id") for n in range(1200)
    ]
    async with make_client(fake) as client:
        first = await client.batch(items[:600])
        learning = client.stats.throttled
        rate = client._units.rate
        second = await client.batch(items[600:])
    assert all(r.status == 200 for r in first + second)
    assert rate is not None and 50 <= rate <= 150  # units a second
    assert learning > 600  # without pacing, as many 429s as requests or more
    assert client.stats.throttled - learning < 600 / 4


# --- batch ---------------------------------------------------------------------------------------


async def test_batch_of_45_takes_three_round_trips_in_order(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    user_ids = fake.store.sets["users"].ids()[:45]
    items = [BatchItem(str(n), "GET", f"/users/{uid}?$select=id") for n, uid in enumerate(user_ids)]
    async with make_client(fake) as client:
        results = await client.batch(items)
    assert [r.id for r in results] == [str(n) for n in range(45)]
    assert [r.body["id"] for r in results] == user_ids
    assert all(r.status == 200 for r in results)
    assert client.stats.round_trips == 3
    assert client.stats.batch_items == 45
    assert client.stats.requests == 45


async def test_batch_items_throttled_are_retried_until_they_succeed(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(resource_units=10, time_scale=0.02)
    user_ids = fake.store.sets["users"].ids()[:60]
    items = [BatchItem(uid, "GET", f"/users/{uid}") for uid in user_ids]
    async with make_client(fake) as client:
        results = await client.batch(items)
    assert [r.body["id"] for r in results] == user_ids
    assert all(r.status == 200 for r in results)
    assert client.stats.throttled > 0
    assert client.stats.batch_items > 60
    assert client.stats.round_trips > 3


async def test_batch_returns_forbidden_items_as_results(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    uid = fake.store.sets["users"].ids()[0]
    items = [
        BatchItem("user", "GET", f"/users/{uid}"),
        BatchItem("ca", "GET", "/identity/conditionalAccess/policies"),
    ]
    async with make_client(fake, roles=["User.Read.All"]) as client:
        user, ca = await client.batch(items)
    assert (user.status, user.body["id"]) == (200, uid)
    assert ca.status == 403
    assert ca.body["error"]["code"] == "Authorization_RequestDenied"
    assert client.stats.retries == 0
    assert client.stats.errors == 1


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [{"error_rate": 0.3}, {"drop_rate": 0.3}])
async def test_faults_while_paging_read_every_page_exactly_once(
    fakegraph_factory: Factory, fault: dict[str, float]
) -> None:
    fake = fakegraph_factory(throttling=False, fault_seed=7, **fault)
    async with make_client(fake) as client:
        ids, pages = await read_ids(client, "/v1.0/users", params={"$top": 5, "$select": "id"})
    assert ids == sorted(ids)
    assert sorted(ids) == sorted(fake.store.sets["users"].ids())
    assert len(ids) == len(set(ids))
    assert pages == 40
    assert client.stats.retries > 0
    assert client.stats.round_trips == pages + client.stats.retries


async def test_permanent_503_gives_up_after_max_retries(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    add_fault(fake, path="^/users$", fault="503", times=1000)
    async with make_client(fake, max_retries=3) as client:
        with pytest.raises(GraphRequestError) as caught:
            await client.get("/v1.0/users")
    assert caught.value.status == 503
    assert caught.value.code == "ServiceUnavailable"
    assert client.stats.round_trips == 4
    assert client.stats.errors == 1


async def test_forbidden_raises_without_retry(fakegraph: RunningFakeGraph) -> None:
    async with make_client(fakegraph, roles=["User.Read.All"]) as client:
        with pytest.raises(GraphRequestError) as caught:
            await client.get(CA)
    assert caught.value.status == 403
    assert caught.value.code == "Authorization_RequestDenied"
    assert caught.value.request_id
    assert client.stats.round_trips == 1


async def test_unreachable_host_fails_with_one_line_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GraphClient(f"http://127.0.0.1:{port}", StaticToken("x"), max_retries=2, backoff_scale=0.001)
    async with client:
        with pytest.raises(GraphConnectionError) as caught:
            await client.get("/v1.0/users")
    message = str(caught.value)
    assert "\n" not in message
    assert "after 3 attempts" in message
    assert f"127.0.0.1:{port}" in message
    assert client.stats.round_trips == 3


# --- tokens --------------------------------------------------------------------------------------


class ExpiringTokens:
    """First a token that expires within a second; a fresh one when asked to refresh."""

    def __init__(self, fake: RunningFakeGraph, *, refresh_works: bool = True) -> None:
        self.fake = fake
        self.refresh_works = refresh_works
        self.calls: list[bool] = []
        self.current = fake.token(lifetime=1)

    async def token(self, *, refresh: bool = False) -> str:
        self.calls.append(refresh)
        if refresh:
            self.current = (
                self.fake.token()
                if self.refresh_works
                else auth.issue_token(self.fake.tenant_id, [], lifetime=1, now=time.time() - 60)
            )
        return self.current


async def test_token_expiring_mid_run_is_refreshed(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    tokens = ExpiringTokens(fake)
    ids: list[str] = []
    async with GraphClient(fake.url, tokens, backoff_scale=0.01) as client:
        async for page in client.pages("/v1.0/users", params={"$top": 50, "$select": "id"}):
            ids.extend(obj["id"] for obj in page)
            if len(ids) == 50:  # the second page is already being read ahead
                await asyncio.sleep(2.1)  # the first token expires before the third page is asked for
    assert sorted(ids) == sorted(fake.store.sets["users"].ids())
    assert tokens.calls.count(True) == 1
    assert client.stats.round_trips == 5  # four pages, the third one twice


async def test_token_that_keeps_failing_raises_401(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    tokens = ExpiringTokens(fake, refresh_works=False)
    tokens.current = auth.issue_token(fake.tenant_id, [], lifetime=1, now=time.time() - 60)
    async with GraphClient(fake.url, tokens, backoff_scale=0.01) as client:
        with pytest.raises(GraphRequestError) as caught:
            await client.get("/v1.0/users")
    assert caught.value.status == 401
    assert caught.value.code == "InvalidAuthenticationToken"
    assert "even after refreshing" in caught.value.message
    assert tokens.calls == [False, True]


async def test_batch_that_keeps_failing_raises_graph_request_error(fakegraph_factory: Factory) -> None:
    fake = fakegraph_factory(throttling=False)
    add_fault(fake, path=r"^/\$batch$", fault="503", times=1000)
    items = [BatchItem(str(n), "GET", "/organization") for n in range(25)]
    async with make_client(fake, max_retries=2) as client:
        with pytest.raises(GraphRequestError) as caught:
            await client.batch(items)
    assert caught.value.status == 503
    # two envelopes of three attempts each; the first to give up cancels the other, unless the other's
    # last answer has already arrived (both then ended in an error): one error each at most
    assert 3 <= client.stats.round_trips <= 6
    assert 1 <= client.stats.errors <= 2
