"""Applications: API permissions by name, granted permissions, credentials' expiry, owners."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from entrasnap.services.report_model import Badge, Facts, Para, Phrase, Section, Table, join
from entrasnap.services.report_names import Names, records
from entrasnap.services.timeline import SnapshotView

EXPIRY_WARNING = timedelta(days=30)


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def credential_badge(end: Any, now: datetime) -> Badge:
    """expired / expires in N days (within 30 days) / valid, as of the snapshot."""
    moment = _moment(end)
    if moment is None:
        return Badge("no expiry", "muted")
    if moment < now:
        return Badge("expired", "bad")
    if moment - now <= EXPIRY_WARNING:
        days = (moment - now).days
        return Badge(f"expires in {days} day{'s' if days != 1 else ''}", "warn")
    return Badge("valid", "ok")


class Resources:
    """Service principals of the snapshot by id and appId, with their permissions by id."""

    def __init__(self, view: SnapshotView) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_app_id: dict[str, dict[str, Any]] = {}
        for record in records(view, "servicePrincipals"):
            self.by_id[str(record["id"]).lower()] = record
            app_id = record["object"].get("appId")
            if app_id:
                self.by_app_id[str(app_id).lower()] = record

    def permission(self, sp: dict[str, Any] | None, permission_id: str, kind: str) -> str:
        if sp is None:
            return f"unknown permission {permission_id}"
        field = "appRoles" if kind == "Role" else "oauth2PermissionScopes"
        for item in sp["object"].get(field) or []:
            if str(item.get("id")).lower() == permission_id.lower():
                return str(item.get("value") or item.get("displayName"))
        return f"unknown permission {permission_id}"


def _api_permissions(app: dict[str, Any], resources: Resources, names: Names) -> list[list[Phrase]]:
    rows: list[list[Phrase]] = []
    for resource in app.get("requiredResourceAccess") or []:
        app_id = str(resource.get("resourceAppId"))
        sp = resources.by_app_id.get(app_id.lower())
        api: Phrase = [names.ref(str(sp["id"]) if sp else app_id, "API")]
        delegated: list[str] = []
        application: list[str] = []
        for access in resource.get("resourceAccess") or []:
            kind = str(access.get("type"))
            name = resources.permission(sp, str(access.get("id")), kind)
            (application if kind == "Role" else delegated).append(name)
        rows.append([api, [", ".join(sorted(delegated)) or "—"], [", ".join(sorted(application)) or "—"]])
    return rows


def _credentials(app: dict[str, Any], now: datetime) -> list[list[Phrase]]:
    rows: list[list[Phrase]] = []
    creds = [("Secret", c) for c in app.get("passwordCredentials") or []]
    creds += [("Certificate", c) for c in app.get("keyCredentials") or []]
    for kind, cred in sorted(creds, key=lambda kc: str(kc[1].get("endDateTime"))):
        rows.append(
            [
                [kind],
                [str(cred.get("displayName") or "(no description)")],
                [str(cred.get("endDateTime") or "")[:10] or "—"],
                [credential_badge(cred.get("endDateTime"), now)],
            ]
        )
    return rows


class Grants:
    """Application permissions (app role assignments to service principals) and delegated grants."""

    def __init__(self, view: SnapshotView, resources: Resources) -> None:
        self.application: dict[str, list[tuple[dict[str, Any], str]]] = {}
        for record in resources.by_id.values():
            for assignment in (record.get("children") or {}).get("appRoleAssignedTo") or []:
                if assignment.get("principalType") == "ServicePrincipal":
                    name = resources.permission(record, str(assignment.get("appRoleId")), "Role")
                    self.application.setdefault(str(assignment.get("principalId")).lower(), []).append(
                        (record, name)
                    )
        self.delegated: dict[str, list[dict[str, Any]]] = {}
        for record in records(view, "oauth2PermissionGrants"):
            grant = record["object"]
            self.delegated.setdefault(str(grant.get("clientId")).lower(), []).append(grant)

    def rows(self, sp_id: str, names: Names) -> list[list[Phrase]]:
        rows: list[list[Phrase]] = []
        by_resource: dict[str, list[str]] = {}
        for resource, name in self.application.get(sp_id.lower(), []):
            by_resource.setdefault(str(resource["id"]), []).append(name)
        for resource_id, perms in sorted(by_resource.items()):
            rows.append(
                [
                    [names.ref(resource_id, "API")],
                    [Badge("Application", "warn")],
                    [", ".join(sorted(perms))],
                    ["tenant-wide"],
                ]
            )
        for grant in self.delegated.get(sp_id.lower(), []):
            who: Phrase = ["all users (admin consent)"]
            if grant.get("consentType") == "Principal":
                who = [names.ref(str(grant.get("principalId")), "user")]
            scopes = " ".join(sorted(str(grant.get("scope") or "").split()))
            rows.append(
                [
                    [names.ref(str(grant.get("resourceId")), "API")],
                    [Badge("Delegated", "info")],
                    [scopes],
                    who,
                ]
            )
        return rows


def app_sections(view: SnapshotView, names: Names, now: datetime) -> list[Section]:
    """One subsection per app registration, plus enterprise apps holding grants without one."""
    resources = Resources(view)
    grants = Grants(view, resources)
    sections: list[Section] = []
    registered: set[str] = set()
    apps = sorted(records(view, "applications"), key=lambda r: str(r["object"].get("displayName", "")))
    for record in apps:
        app = record["object"]
        app_id = str(app.get("appId", ""))
        registered.add(app_id.lower())
        sp = resources.by_app_id.get(app_id.lower())
        owners: list[Phrase] = [[names.ref(o)] for o in (record.get("children") or {}).get("owners") or []]
        facts: list[tuple[str, Phrase]] = [
            ("Application (client) ID", [app_id]),
            ("Sign-in audience", [str(app.get("signInAudience") or "—")]),
            ("Owners", join(owners) or [Badge("no owners", "warn")]),
        ]
        blocks: list[Para | Facts | Table] = [Facts(facts)]
        blocks.append(Para(["API permissions requested"], "caption"))
        blocks.append(
            Table(
                ["API", "Delegated", "Application"],
                _api_permissions(app, resources, names),
                "No API permissions requested.",
            )
        )
        blocks.append(Para(["Permissions granted in this tenant"], "caption"))
        granted = grants.rows(str(sp["id"]), names) if sp else []
        blocks.append(
            Table(["API", "Type", "Permissions", "Granted for"], granted, "No permissions granted.")
        )
        blocks.append(Para(["Credentials"], "caption"))
        credentials = _credentials(app, now)
        blocks.append(Table(["Kind", "Description", "Expires", "Status"], credentials, "No credentials."))
        tones = [row[3][0] for row in credentials]
        badge = next((b for b in tones if isinstance(b, Badge) and b.tone == "bad"), None) or next(
            (b for b in tones if isinstance(b, Badge) and b.tone == "warn"), None
        )
        sections.append(
            Section(f"app-{record['id']}", str(app.get("displayName") or record["id"]), blocks, badge=badge)
        )
    others: list[list[Phrase]] = []
    for sp_id, record in sorted(
        resources.by_id.items(), key=lambda kv: str(kv[1]["object"].get("displayName", ""))
    ):
        if str(record["object"].get("appId", "")).lower() in registered:
            continue
        rows = grants.rows(sp_id, names)
        if rows:
            others.extend([[[names.ref(str(record["id"]), "service principal")], *row] for row in rows])
    if others:
        sections.append(
            Section(
                "app-enterprise-grants",
                "Enterprise applications without a registration in this tenant",
                [Table(["Application", "API", "Type", "Permissions", "Granted for"], others)],
            )
        )
    return sections
