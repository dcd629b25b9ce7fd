"""``entrasnap demo``: the whole job on the built-in tenant, ending with the diff and the HTML report."""

from __future__ import annotations

import re
from pathlib import Path

from test_snapshot_robustness import clean_env, run_cli_process


def test_demo_ends_with_the_diff_and_points_at_the_report(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    result = run_cli_process(["demo", "--dir", str(directory), "--quiet"], clean_env(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    err = " ".join(result.stderr.split())  # rich wraps long lines on a narrow pseudo-terminal width
    assert "Traceback" not in result.stderr
    # two snapshots, then the diff between them with the changes the demo made and their risk flags
    assert len(re.findall(r"(First|Second) snapshot [0-9a-f]{12}: complete", err)) == 2
    what_changed = err.index("What changed")
    assert "risk flags" in err[what_changed:]
    changes = err[what_changed:]
    assert (
        "an enforced Conditional Access policy was switched to report-only (ca.policy-report-only)" in changes
    )
    assert "state: enabled → enabledForReportingButNotEnforced" in changes
    assert "users were excluded from a Conditional Access policy (ca.exclusion-added.users)" in changes
    assert "a new client secret (password credential) was added (app.password-added)" in changes
    # and it ends by pointing at the HTML report, which it wrote
    report = directory / "report.html"
    assert err.rstrip().endswith("--format html --output report.html)")
    assert str(report.resolve()) in err[err.index("Tenant report") :]
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Conditional Access" in html
    # the repository it left behind is a real one the other commands read
    listing = run_cli_process(
        ["list", "--store", str(directory / "repository"), "--json"], clean_env(tmp_path)
    )
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count('"id"') >= 2
