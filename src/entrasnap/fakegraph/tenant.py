"""Generate a whole fake tenant, deterministically from a size preset and a seed."""

from __future__ import annotations

import uuid

from entrasnap.fakegraph.areas import populators
from entrasnap.fakegraph.context import SIZES, Context
from entrasnap.fakegraph.licensing import ALL_LICENSES
from entrasnap.fakegraph.state import Store


def generate(
    size: str = "S",
    seed: int = 1,
    licenses: frozenset[str] | set[str] | None = None,
    domain: str | None = None,
) -> Store:
    """A tenant of preset ``size`` (S, M or L); the same arguments always give the same tenant."""
    if size not in SIZES:
        raise ValueError(f"unknown tenant size {size!r}; choose one of {', '.join(SIZES)}")
    plan = SIZES[size]
    tenant_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"fakegraph-tenant-{size}-{seed}"))
    domain = domain or f"contoso{seed}.onmicrosoft.com"
    store = Store(
        tenant_id=tenant_id,
        domain=domain,
        size=size,
        seed=seed,
        licenses=set(ALL_LICENSES if licenses is None else licenses),
    )
    for area, populate in populators():
        populate(store, Context(plan, seed, area, tenant_id, domain))
    return store
