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


@pytest.fixture(autouse=True, scope="session")
def record_cache_in_a_temporary_directory(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The CLI caches snapshot record heads in the user's cache directory; tests keep theirs apart."""
    import os

    os.environ.setdefault("ENTRASNAP_CACHE_DIR", str(tmp_path_factory.mktemp("entrasnap-cache")))
