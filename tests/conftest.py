"""Shared test helpers. The fakegraph fixtures come from entrasnap's pytest plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
pytest_plugins = ["azurite"]  # Azurite fixtures for the Azure Blob tests (tests/azurite.py)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Microsoft's documented examples and schema, beside the checkout."""
    if not (SHARED / "graph-schema").is_dir():
        pytest.fail(f"../shared (Graph examples and schema) not found at {SHARED}")
    return SHARED
