"""Tenant documentation for auditors: one snapshot as an HTML page or Markdown.

``build_report`` reads one snapshot (names resolved from that snapshot only) into a
:class:`Document`; ``render_html`` / ``render_markdown`` turn it into text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from entrasnap import catalog
from entrasnap.services.report_apps import app_sections
from entrasnap.services.report_ca import ca_section
from entrasnap.services.report_html import render_html
from entrasnap.services.report_markdown import render_markdown
from entrasnap.services.report_model import Badge, Document, Facts, Para, Phrase, Section, Table, join
from entrasnap.services.report_names import Names, records
from entrasnap.services.report_pim import group_sections, role_sections
from entrasnap.services.timeline import CachedRepository, SnapshotView, pick, tenant_records
from entrasnap.store import Repository

STATUS_TONES = {"ok": "ok", "forbidden": "bad", "unlicensed": "muted", "unavailable": "muted", "error": "bad"}
LARGEST = 10


def not_captured(view: SnapshotView, keys: tuple[str, ...]) -> Para | None:
    """A note when any of ``keys`` was not captured (None when all were)."""
    missing = [k for k in keys if not view.captured(k)]
    if not missing:
        return None
    parts: Phrase = []
    for key in missing:
        info = view.record.types.get(key) or {}
        error = info.get("error") or {}
        why = f" (missing permission {error['permission']})" if error.get("permission") else ""
        parts += [
            " " if parts else "",
            catalog.BY_KEY[key].title,
            " ",
            Badge(_status_text(view.status(key)), STATUS_TONES.get(view.status(key), "bad")),
            why,
            ".",
        ]
    return Para(["Not captured in this snapshot: ", *parts], "note")


def _status_text(status: str) -> str:
    return "not captured" if status == "absent" else status


def _groups(view: SnapshotView) -> Section:
    section = Section("groups", "Groups")
    note = not_captured(view, ("groups",))
    if note is not None and not view.captured("groups"):
        section.blocks.append(note)
        return section
    kinds: Counter[str] = Counter()
    sizes: list[tuple[int, str, dict[str, Any]]] = []
    for record in records(view, "groups"):
        group = record["object"]
        types = group.get("groupTypes") or []
        kinds[
            "Microsoft 365"
            if "Unified" in types
            else (
                "Security"
                if group.get("securityEnabled") and not group.get("mailEnabled")
                else ("Mail-enabled security" if group.get("securityEnabled") else "Distribution")
            )
        ] += 1
        if "DynamicMembership" in types:
            kinds["Dynamic membership"] += 1
        if group.get("isAssignableToRole"):
            kinds["Role-assignable"] += 1
        if group.get("onPremisesSyncEnabled"):
            kinds["Synced from on-premises"] += 1
        members = (record.get("children") or {}).get("members") or []
        sizes.append((len(members), str(record["id"]), group))
    rows: list[list[Phrase]] = [[["All groups"], [str(len(sizes))]]]
    order = (
        "Security",
        "Microsoft 365",
        "Mail-enabled security",
        "Distribution",
        "Dynamic membership",
        "Role-assignable",
        "Synced from on-premises",
    )
    rows += [[[kind], [str(kinds.get(kind, 0))]] for kind in order]
    section.blocks.append(Table(["Kind", "Count"], rows, narrow=True))
    section.blocks.append(
        Para([f"The {min(LARGEST, len(sizes))} largest groups (direct members):"], "caption")
    )
    largest = sorted(sizes, key=lambda s: (-s[0], str(s[2].get("displayName"))))[:LARGEST]
    section.blocks.append(
        Table(
            ["Group", "Members", "Kind"],
            [[[str(g.get("displayName") or oid)], [str(n)], [_group_kind(g)]] for n, oid, g in largest],
        )
    )
    return section


def _group_kind(group: dict[str, Any]) -> str:
    types = group.get("groupTypes") or []
    words = [
        "Microsoft 365"
        if "Unified" in types
        else "Security"
        if group.get("securityEnabled")
        else "Distribution"
    ]
    if "DynamicMembership" in types:
        words.append("dynamic")
    if group.get("isAssignableToRole"):
        words.append("role-assignable")
    if group.get("onPremisesSyncEnabled"):
        words.append("synced")
    return ", ".join(words)


def _admin_units(view: SnapshotView, names: Names) -> Section:
    section = Section("administrative-units", "Administrative units")
    note = not_captured(view, ("administrativeUnits",))
    if note is not None:
        section.blocks.append(note)
        return section
    rows: list[list[Phrase]] = []
    for record in sorted(
        records(view, "administrativeUnits"), key=lambda r: str(r["object"].get("displayName"))
    ):
        unit = record["object"]
        children = record.get("children") or {}
        scoped: list[Phrase] = []
        for member in children.get("scopedRoleMembers") or []:
            info = member.get("roleMemberInfo") or {}
            scoped.append(
                [
                    names.ref(str(info.get("id")), "user"),
                    " (",
                    names.ref(str(member.get("roleId")), "role"),
                    ")",
                ]
            )
        restricted: Phrase = (
            [Badge("restricted", "warn")] if unit.get("isMemberManagementRestricted") else ["no"]
        )
        rows.append(
            [
                [str(unit.get("displayName") or record["id"])],
                [str(unit.get("membershipType") or "Assigned")],
                [str(len(children.get("members") or []))],
                restricted,
                join(scoped, sep="; ", last="; ") or ["—"],
            ]
        )
    section.blocks.append(
        Table(
            ["Unit", "Membership", "Members", "Restricted management", "Scoped role members"],
            rows,
            "No administrative units.",
        )
    )
    return section


def _coverage(view: SnapshotView) -> Section:
    rows: list[list[Phrase]] = []
    for rtype in catalog.CATALOG:
        status = view.status(rtype.key)
        info = view.record.types.get(rtype.key) or {}
        error = info.get("error") or {}
        detail = str(error.get("message") or "")
        if error.get("permission"):
            detail = f"needs {error['permission']}" + (f": {detail}" if detail else "")
        count = str(info.get("count", 0)) if status == "ok" else "—"
        rows.append(
            [
                [rtype.title],
                [rtype.key],
                [Badge(_status_text(status), STATUS_TONES.get(status, "bad"))],
                [count],
                [detail],
            ]
        )
    captured = sum(1 for t in catalog.CATALOG if view.captured(t.key))
    lead = Para([f"{captured} of {len(catalog.CATALOG)} resource types were captured in this snapshot."])
    return Section(
        "coverage", "Coverage", [lead, Table(["Resource type", "Key", "Status", "Objects", "Detail"], rows)]
    )


def build_report(repository: Repository, ref: str | None = None, tenant: str | None = None) -> Document:
    """The report of one snapshot (``ref``: id, prefix, date, latest, previous; default latest)."""
    record = pick(tenant_records(repository, tenant), ref)
    view = SnapshotView(CachedRepository(repository), record)
    names = Names(view)
    data = record.data
    tenant_text = str(record.tenant.get("domain") or record.tenant.get("id"))
    meta = [
        ("Tenant", f"{tenant_text} ({record.tenant.get('id')})"),
        ("Snapshot", record.id),
        ("Taken", f"{data.get('started')} – {data.get('finished')}"),
        ("Status", str(data.get("status"))),
        ("entrasnap", str(data.get("entrasnap"))),
    ]
    ca = ca_section(view, names, _missing(view, ("conditionalAccessPolicies",)))
    pim = Section("pim", "Privileged Identity Management")
    note = not_captured(
        view,
        ("roleEligibilitySchedules", "roleAssignmentSchedules", "roleAssignments", "roleManagementPolicies"),
    )
    if note is not None:
        pim.blocks.append(note)
    roles = Section("pim-roles", "Entra roles", subsections=role_sections(view, names))
    if not roles.subsections:
        roles.blocks.append(Para(["No eligible or active role assignments in this snapshot."], "note"))
    groups = Section("pim-groups", "PIM for groups", subsections=group_sections(view, names))
    group_note = not_captured(view, ("groupEligibilitySchedules", "groupAssignmentSchedules"))
    if group_note is not None:
        groups.blocks.append(group_note)
    elif not groups.subsections:
        groups.blocks.append(
            Para(["No eligible or active group memberships or ownerships under PIM."], "note")
        )
    pim.subsections = [roles, groups]
    apps = Section("applications", "Applications")
    app_note = not_captured(view, ("applications", "servicePrincipals", "oauth2PermissionGrants"))
    if app_note is not None:
        apps.blocks.append(app_note)
    apps.subsections = app_sections(view, names, record.started)
    count = sum(1 for s in apps.subsections if s.id != "app-enterprise-grants")
    flagged = sum(1 for s in apps.subsections if s.badge is not None)
    apps.blocks.insert(
        0,
        Para(
            [
                f"{count} app registrations; {flagged} with an expired credential or one expiring within 30 days."
            ]
        ),
    )
    metadata = Section(
        "snapshot",
        "Snapshot",
        [
            Facts(
                [
                    (label, [value])
                    for label, value in [
                        *meta,
                        ("Graph", str(data.get("graph") or "—")),
                        ("Parent snapshot", str(data.get("parent") or "none")),
                    ]
                ]
            )
        ],
    )
    sections = [metadata, ca, pim, apps, _groups(view), _admin_units(view, names), _coverage(view)]
    return Document(f"Entra ID configuration report — {tenant_text}", meta, sections)


def _missing(view: SnapshotView, keys: tuple[str, ...]) -> Para | None:
    return not_captured(view, keys) if any(not view.captured(k) for k in keys) else None


def render(document: Document, fmt: str) -> str:
    """``html`` or ``markdown``."""
    if fmt == "html":
        return render_html(document)
    if fmt == "markdown":
        return render_markdown(document)
    raise ValueError(f"unknown report format {fmt!r}: use html or markdown")


__all__ = ["Badge", "Document", "build_report", "render", "render_html", "render_markdown"]
