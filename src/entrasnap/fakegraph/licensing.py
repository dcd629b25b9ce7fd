"""Features a tenant may lack, and the errors Graph answers when it does."""

from __future__ import annotations

from entrasnap.fakegraph.odata import GraphError
from entrasnap.fakegraph.resource import GOVERNANCE, P1, P2, Resource
from entrasnap.fakegraph.state import Store

# Licence -> (status, code, message) as Graph answers a tenant without it.
MISSING: dict[str, tuple[int, str, str]] = {
    P2: (400, "AadPremiumLicenseRequired", "The tenant needs an AAD Premium 2 license."),
    P1: (
        403,
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license",
    ),
    GOVERNANCE: (403, "Forbidden", "The tenant is not licensed for Microsoft Entra ID Governance."),
}
# A licence that also grants the features of another.
IMPLIES: dict[str, set[str]] = {P2: {P1}, GOVERNANCE: {P1, P2}}

ALL_LICENSES = frozenset({P1, P2, GOVERNANCE})


def effective(licenses: set[str]) -> set[str]:
    out = set(licenses)
    for lic in licenses:
        out |= IMPLIES.get(lic, set())
    return out


def check(store: Store, resource: Resource) -> None:
    if resource.license is None or resource.license in effective(store.licenses):
        return
    status, code, message = MISSING[resource.license]
    raise GraphError(status, code, message)
