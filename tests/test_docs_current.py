"""Generated documentation stays current."""

from __future__ import annotations

from conftest import ROOT
from entrasnap.fakegraph.docs import endpoints_markdown


def test_fakegraph_endpoint_table_is_current() -> None:
    path = ROOT / "docs" / "FAKEGRAPH-ENDPOINTS.md"
    assert path.read_text(encoding="utf-8") == endpoints_markdown() + "\n", (
        "docs/FAKEGRAPH-ENDPOINTS.md is stale: run `python -m entrasnap.fakegraph.docs > docs/FAKEGRAPH-ENDPOINTS.md`"
    )
