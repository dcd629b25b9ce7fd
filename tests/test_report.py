"""``entrasnap report``: the content of the auditors' report, from real snapshots of a fake S tenant.

The tenant is changed over HTTP before the snapshot: a group gets a hostile display name and is
excluded from a Conditional Access policy, and an application gets a secret that expires in 10 days.
A second repository holds a snapshot taken with a token lacking Policy.Read.All.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from entrasnap import catalog
from entrasnap.cli.main import app
from entrasnap.fakegraph.service import RunningFakeGraph, start
from entrasnap.graph import GraphClient, StaticToken
from entrasnap.services.report import build_report, render
from entrasnap.services.snapshot import take_snapshot
from entrasnap.store import LocalBackend, Repository

HOSTILE = '<script>alert(1)</script> & "quotes"'
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
POLICY = "CA003: Require MFA for all users"
EXPIRING_SECRET = "expiring-secret-for-audit"


@dataclass
class Tenant:
    running: RunningFakeGraph
    full: Path  # a repository with a complete snapshot
    partial: Path  # a snapshot taken without Policy.Read.All
    policy: dict[str, Any]  # POLICY as Graph serves it
    names: dict[str, str]  # id -> displayName of the policy's included/excluded users and groups
    hostile_group: str
    app_name: str


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, (
        f"{answer.request.method} {answer.request.url}: {answer.status_code} {answer.text[:300]}"
    )
    return answer.json() if answer.content else None


def _snapshot(running: RunningFakeGraph, store: Path, token: str) -> None:
    repository = Repository.open(LocalBackend(store), create=True)

    async def run() -> Any:
        client = GraphClient(running.url, StaticToken(token))
        try:
            return await take_snapshot(
                client,
                repository,
                list(catalog.CATALOG),
                tenant_hint=running.tenant_id,
                graph_url=running.url,
            )
        finally:
            await client.aclose()

    outcome = asyncio.run(run())
    assert outcome.record.data["status"] in ("complete", "partial")


def build_tenant(root: Path) -> Tenant:
    running = start(size="S", seed=1, time_scale=0.02, throttling=False)
    http = running.client()
    policies = _ok(http.get("/beta/identity/conditionalAccess/policies"))["value"]
    policy = next(p for p in policies if p["displayName"] == POLICY)
    # A group not yet in the policy gets a hostile name and is excluded from it (over HTTP).
    users = policy["conditions"]["users"]
    groups = _ok(http.get("/v1.0/groups", params={"$top": "50"}))["value"]
    hostile = next(g for g in groups if g["id"] not in users["excludeGroups"])
    _ok(http.patch(f"/v1.0/groups/{hostile['id']}", json={"displayName": HOSTILE}))
    _ok(
        http.post(
            "/_fakegraph/mutate",
            json={"action": "add-exclusion", "id": policy["id"], "principal": hostile["id"]},
        )
    )
    # A secret expiring in 10 days on an application.
    apps = _ok(http.get("/v1.0/applications"))["value"]
    target = next(a for a in apps if not a.get("passwordCredentials") and not a.get("keyCredentials"))
    end = (datetime.now(UTC) + timedelta(days=10, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    secret = {
        "displayName": EXPIRING_SECRET,
        "endDateTime": end,
        "keyId": "5b0b6c33-5d5e-4e48-9b4e-fb2d3c1a9f00",
        "startDateTime": "2025-01-01T00:00:00Z",
        "hint": "abc",
        "customKeyIdentifier": None,
        "secretText": None,
    }
    _ok(
        http.post(
            "/_fakegraph/mutate",
            json={
                "action": "update",
                "id": target["id"],
                "set": "applications",
                "values": {"passwordCredentials": [secret]},
            },
        )
    )
    policy = _ok(http.get(f"/beta/identity/conditionalAccess/policies/{policy['id']}"))
    users = policy["conditions"]["users"]
    names = {}
    for kind, field in (
        ("users", "includeUsers"),
        ("users", "excludeUsers"),
        ("groups", "includeGroups"),
        ("groups", "excludeGroups"),
    ):
        for oid in users[field]:
            if GUID.fullmatch(oid):
                names[oid] = _ok(http.get(f"/v1.0/{kind}/{oid}"))["displayName"]
    _snapshot(running, root / "full", running.token())
    lacking = [p for p in running.fake.all_permissions() if p != "Policy.Read.All"]
    _snapshot(running, root / "partial", running.token(lacking))
    http.close()
    return Tenant(
        running, root / "full", root / "partial", policy, names, hostile["id"], target["displayName"]
    )


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    built = build_tenant(tmp_path_factory.mktemp("report"))
    yield built
    built.running.stop()


class Text(HTMLParser):
    """Visible text of an HTML page (attributes such as title= left out), per section id."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self.current = ""
        self.depth = 0
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.current = ""
        if tag in ("h2",) and not self.current:
            self.current = dict(attrs).get("id") or ""

    def handle_data(self, data: str) -> None:
        self.sections.setdefault(self.current, []).append(data)

    def text(self, section: str) -> str:
        return "".join(self.sections.get(section, []))


def visible(html: str) -> Text:
    parser = Text()
    parser.feed(html)
    return parser


def open_repo(path: Path) -> Repository:
    return Repository.open(LocalBackend(path))


def test_policy_sentence_names_included_and_excluded_users_and_groups(tenant: Tenant) -> None:
    page = visible(render(build_report(open_repo(tenant.full)), "html"))
    ca = page.text("conditional-access")
    start_at = ca.index(POLICY)
    block = ca[start_at : ca.index("CA004", start_at)]
    sentence = block[block.index("Applies to") :]
    sentence = sentence[: sentence.index("Users included")]
    users = tenant.policy["conditions"]["users"]
    assert users["includeUsers"] == ["All"] and sentence.startswith("Applies to all users, except ")
    for oid in users["excludeUsers"] + users["excludeGroups"]:
        assert tenant.names[oid] in sentence, (tenant.names[oid], sentence)
    assert HOSTILE in sentence  # the group excluded over HTTP, by its (hostile) name
    assert "members of the groups " in sentence
    assert "guest or external users" in sentence
    assert sentence.rstrip().endswith("Then: require multifactor authentication.")


def test_no_raw_guid_in_the_ca_section_when_the_name_is_known(tenant: Tenant) -> None:
    repository = open_repo(tenant.full)
    html = render(build_report(repository), "html")
    ca = visible(html).text("conditional-access")
    assert "Office 365 (all Office 365 apps)" in ca and "except All trusted locations" in ca
    assert GUID.findall(ca) == [], GUID.findall(ca)[:5]
    # Ids are still there for whoever needs them: in the tooltip of each name.
    excluded = tenant.policy["conditions"]["users"]["excludeUsers"][0]
    assert re.search(rf'title="user {excluded}">{re.escape(tenant.names[excluded])}<', html)


def test_unknown_ids_are_spelled_out_as_unknown_objects(tenant: Tenant) -> None:
    ghost = "0badc0de-0000-4000-8000-000000000001"
    from entrasnap.services.report_ca import Phrasing
    from entrasnap.services.report_model import text_of
    from entrasnap.services.report_names import Names
    from entrasnap.services.timeline import CachedRepository, SnapshotView

    repository = open_repo(tenant.full)
    view = SnapshotView(CachedRepository(repository), repository.snapshots()[-1])
    policy = {
        **tenant.policy,
        "conditions": {
            **tenant.policy["conditions"],
            "users": {"includeUsers": [ghost], "excludeGroups": []},
        },
    }
    section = Phrasing(Names(view)).policy(policy)
    lead = section.blocks[0]
    assert f"Applies to unknown object {ghost}," in text_of(lead.parts)  # type: ignore[union-attr]


def test_pim_role_names_an_eligible_principal(tenant: Tenant) -> None:
    http = tenant.running.client()
    schedules = _ok(http.get("/v1.0/roleManagement/directory/roleEligibilitySchedules"))["value"]
    schedule = next(s for s in schedules if s["directoryScopeId"] == "/")
    role = _ok(http.get(f"/v1.0/roleManagement/directory/roleDefinitions/{schedule['roleDefinitionId']}"))[
        "displayName"
    ]
    principal = schedule["principalId"]
    kind = "users"
    answer = http.get(f"/v1.0/users/{principal}")
    if answer.status_code == 404:
        kind, answer = "groups", http.get(f"/v1.0/groups/{principal}")
    name = _ok(answer)["displayName"]
    http.close()
    markdown = render(build_report(open_repo(tenant.full)), "markdown")
    section = markdown[markdown.index("#### " + role) :]
    section = section[: section.index("\n#### ", 5)]
    row = next(line for line in section.splitlines() if line.startswith(f"| {name} |"))
    assert "Eligible" in row and ("User" if kind == "users" else "Group") in row
    assert "**Activation maximum duration:**" in section and "**On activation, require:**" in section


def test_expiring_credential_is_flagged(tenant: Tenant) -> None:
    html = render(build_report(open_repo(tenant.full)), "html")
    page = visible(html).text("applications")
    after = page[page.index(EXPIRING_SECRET) :][:200]
    assert re.search(r"expires in (9|10) days", after), after
    assert re.search(r'<span class="badge badge-warn">expires in (9|10) days</span>', html)
    assert '<span class="badge badge-bad">expired</span>' in html  # the fake's old secrets


def test_coverage_marks_types_not_captured(tenant: Tenant) -> None:
    full = visible(render(build_report(open_repo(tenant.full)), "html")).text("coverage")
    assert "not captured" not in full.replace("were captured", "")
    markdown = render(build_report(open_repo(tenant.partial)), "markdown")
    coverage = markdown[markdown.index("## Coverage") :]
    row = next(line for line in coverage.splitlines() if "| conditionalAccessPolicies |" in line)
    assert "forbidden" in row and "Policy.Read.All" in row
    ok_row = next(line for line in coverage.splitlines() if "| users |" in line)
    assert "ok" in ok_row and "| 200 |" in ok_row
    ca = markdown[markdown.index("## Conditional Access") : markdown.index("## Privileged")]
    assert "Not captured in this snapshot" in ca and "forbidden" in ca


def test_markdown_has_the_same_content(tenant: Tenant) -> None:
    markdown = render(build_report(open_repo(tenant.full)), "markdown")
    for heading in (
        "## Conditional Access",
        "## Privileged Identity Management",
        "## Applications",
        "## Groups",
        "## Administrative units",
        "## Coverage",
    ):
        assert f"\n{heading}\n" in markdown
    assert f"### {POLICY.replace('_', chr(92) + '_')} **✅ On**" in markdown
    assert "<script>" not in markdown
    assert '&lt;script&gt;alert(1)&lt;/script&gt; &amp; "quotes"' in markdown
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    widths = {line.count(" | ") - line.count("\\|") for line in table_lines}
    assert widths  # every table row is well formed: pipes in names are escaped
    assert all("\n" not in line for line in table_lines)


def test_hostile_names_are_escaped_in_html(tenant: Tenant) -> None:
    html = render(build_report(open_repo(tenant.full)), "html")
    assert "<script>" not in html and "alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in html
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert not re.search(r"<(link|script|img)\b", html)  # self-contained
    assert "http://" not in html.replace(tenant.running.url, "") and "https://" not in html


def test_cli_writes_html_and_markdown(tenant: Tenant, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", "--store", str(tenant.full), "--format", "html", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "<title>Entra ID configuration report" in out.read_text(encoding="utf-8")
    result = runner.invoke(app, ["report", "latest", "--store", str(tenant.full), "--format", "markdown"])
    assert result.exit_code == 0 and result.stdout.startswith("# Entra ID configuration report")
    result = runner.invoke(app, ["report", "1999-01-01", "--store", str(tenant.full)])
    assert result.exit_code == 1 and "before the first snapshot" in result.output
    result = runner.invoke(app, ["report", "--store", str(tenant.full), "--format", "pdf"])
    assert result.exit_code != 0
