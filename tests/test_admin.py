"""fakegraph's admin API: run-time settings, including licences."""

from __future__ import annotations

import httpx

from entrasnap.fakegraph.service import RunningFakeGraph


def test_licences_can_be_withdrawn_at_run_time(fakegraph: RunningFakeGraph) -> None:
    http = fakegraph.client()
    path = "/v1.0/roleManagement/directory/roleEligibilitySchedules"
    assert http.get(path).status_code == 200
    answer = httpx.post(f"{fakegraph.url}/_fakegraph/settings", json={"licenses": ["AAD_PREMIUM"]})
    assert answer.status_code == 200
    assert answer.json()["licenses"] == ["AAD_PREMIUM"]
    denied = http.get(path)
    assert denied.status_code == 400
    assert denied.json()["error"]["code"] == "AadPremiumLicenseRequired"


def test_bad_settings_are_refused_with_a_reason(fakegraph: RunningFakeGraph) -> None:
    for body in ({"no_such_setting": 1}, {"licenses": ["P9"]}, [1, 2]):
        answer = httpx.post(f"{fakegraph.url}/_fakegraph/settings", json=body)
        assert answer.status_code == 400
        assert answer.json()["error"]
    assert httpx.get(f"{fakegraph.url}/_fakegraph/info").json()["licenses"] == sorted(
        fakegraph.store.licenses
    )
