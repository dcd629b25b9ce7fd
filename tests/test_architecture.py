"""docs/ARCHITECTURE.md's rules, checked: layers import downward only; the product never imports the fake."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "entrasnap"
# Each layer may import itself and the layers listed (the catalog is data everyone reads).
ALLOWED = {
    "graph": {"graph"},
    "store": {"store"},
    "collect": {"collect", "graph", "catalog"},
    "catalog": {"catalog"},
    "services": {"services", "collect", "store", "graph", "catalog"},
    "cli": {"cli", "services", "collect", "store", "graph", "catalog", "fakegraph"},
    "fakegraph": {"fakegraph"},
}


def imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.split(".")[1] for n in names if n.startswith("entrasnap.") and n.count(".") >= 1}


def test_layers_import_downward_only() -> None:
    problems = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for used in imported_layers(path) - allowed - {"__init__"}:
                problems.append(f"{path.relative_to(ROOT)} imports entrasnap.{used}")
    assert not problems, "\n".join(problems)


def test_only_the_demo_and_fakegraph_commands_import_the_fake() -> None:
    users = sorted(p.name for p in (PACKAGE / "cli").glob("*.py") if "fakegraph" in imported_layers(p))
    assert users == ["demo_cmd.py", "fakegraph_cmd.py"]


def test_cli_choices_match_the_graph_layer() -> None:
    """Facts the CLI repeats to stay fast to start (it does not import the graph layer) stay in step."""
    from entrasnap.cli.config import CLOUDS, AuthChoice
    from entrasnap.graph.clouds import CLOUDS as GRAPH_CLOUDS
    from entrasnap.graph.credentials import KINDS

    assert tuple(GRAPH_CLOUDS) == CLOUDS
    assert tuple(choice.value for choice in AuthChoice) == KINDS
