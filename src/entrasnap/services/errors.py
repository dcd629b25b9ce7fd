"""Errors the services raise for the edge to explain (kept import-light for the CLI)."""

from __future__ import annotations


class TenantMismatchError(ValueError):
    """The credentials reach a different tenant than the one named: never file it under the wrong name."""
