"""Size presets: a generated tenant has the documented counts and is served like any other."""

from __future__ import annotations

import pytest

from entrasnap.fakegraph.context import SIZES
from entrasnap.fakegraph.service import start
from entrasnap.fakegraph.tenant import generate


@pytest.mark.parametrize("size", ["S", "M"])
def test_preset_counts(size: str) -> None:
    plan = SIZES[size]
    store = generate(size, 7)
    assert len(store.sets["users"]) == plan.users
    assert len(store.sets["groups"]) == plan.groups
    assert len(store.sets["applications"]) == plan.applications
    assert len(store.sets["servicePrincipals"]) == plan.service_principals
    assert len(store.sets["identity/conditionalAccess/policies"]) == plan.ca_policies
    assert len(store.sets["roleManagement/directory/roleEligibilitySchedules"]) == plan.pim_eligibilities
    memberships = sum(len(m) for m in store.links["groups/members"].values())
    assert memberships / plan.groups == pytest.approx(plan.avg_members, rel=0.35)


def test_medium_tenant_is_served_page_by_page() -> None:
    running = start(size="M", seed=2, throttling=False)
    try:
        client = running.client()
        seen = 0
        url: str | None = "/v1.0/users?$top=999&$select=id"
        while url:
            body = client.get(url).json()
            seen += len(body["value"])
            url = body.get("@odata.nextLink")
        assert seen == SIZES["M"].users
    finally:
        running.stop()
