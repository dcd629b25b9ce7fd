"""Conditional Access policies in plain language, with names instead of ids.

Every id goes through :class:`Names`: a known id is shown by its name (the id kept for a tooltip),
an unknown one as "unknown object <id>". Graph's keywords ("All", "Office365", "AllTrusted"...) are
spelled out.
"""

from __future__ import annotations

from typing import Any

from entrasnap.services.report_model import Badge, Code, Facts, Para, Phrase, Section, join
from entrasnap.services.report_names import Names, objects
from entrasnap.services.timeline import SnapshotView

STATES = {
    "enabled": Badge("On", "ok"),
    "disabled": Badge("Off", "muted"),
    "enabledForReportingButNotEnforced": Badge("Report-only", "warn"),
}
USER_KEYWORDS = {
    "All": "all users",
    "None": "no users",
    "GuestsOrExternalUsers": "all guest and external users",
}
APP_KEYWORDS = {
    "All": "all cloud apps",
    "None": "no cloud apps",
    "Office365": "Office 365 (all Office 365 apps)",
    "MicrosoftAdminPortals": "Microsoft admin portals",
}
USER_ACTIONS = {
    "urn:user:registersecurityinfo": "registering security information",
    "urn:user:registerdevice": "registering or joining devices",
}
LOCATION_KEYWORDS = {
    "All": "any location",
    "AllTrusted": "All trusted locations",
    "00000000-0000-0000-0000-000000000000": "MFA trusted IPs",
}
PLATFORMS = {
    "all": "any platform",
    "android": "Android",
    "iOS": "iOS",
    "windows": "Windows",
    "windowsPhone": "Windows Phone",
    "macOS": "macOS",
    "linux": "Linux",
}
CLIENT_APPS = {
    "all": "any client app",
    "browser": "browsers",
    "mobileAppsAndDesktopClients": "mobile apps and desktop clients",
    "exchangeActiveSync": "Exchange ActiveSync clients",
    "easSupported": "Exchange ActiveSync clients",
    "other": "other clients (legacy authentication)",
}
GUEST_TYPES = {
    "internalGuest": "local guest users",
    "b2bCollaborationGuest": "B2B collaboration guests",
    "b2bCollaborationMember": "B2B collaboration members",
    "b2bDirectConnectUser": "B2B direct connect users",
    "otherExternalUser": "other external users",
    "serviceProvider": "service provider users",
}
BUILT_IN_CONTROLS = {
    "block": "block access",
    "mfa": "require multifactor authentication",
    "compliantDevice": "require the device to be marked as compliant",
    "domainJoinedDevice": "require a Microsoft Entra hybrid joined device",
    "approvedApplication": "require an approved client app",
    "compliantApplication": "require an app protection policy",
    "passwordChange": "require a password change",
}
CAE_MODES = {
    "disabled": "continuous access evaluation disabled",
    "strictEnforcement": "continuous access evaluation in strict enforcement mode",
    "strictLocation": "continuous access evaluation with strict location enforcement",
}
CLOUD_APP_SECURITY = {
    "mcasConfigured": "use Conditional Access App Control with a custom policy",
    "monitorOnly": "use Conditional Access App Control (monitor only)",
    "blockDownloads": "use Conditional Access App Control (block downloads)",
}


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _words(values: list[str], table: dict[str, str]) -> list[Phrase]:
    return [[table.get(v, v)] for v in values]


class Phrasing:
    """Builds the phrases of one snapshot's policies."""

    def __init__(self, names: Names) -> None:
        self.names = names

    def refs(self, ids: list[str], keywords: dict[str, str], kind: str = "") -> list[Phrase]:
        out: list[Phrase] = []
        for value in ids:
            if value in keywords:
                out.append([keywords[value]])
            else:
                out.append([self.names.ref(value, kind)])
        return out

    def guests(self, value: Any) -> list[Phrase]:
        if not isinstance(value, dict):
            return []
        kinds = [k for k in str(value.get("guestOrExternalUserTypes") or "").split(",") if k]
        phrase: Phrase = ["guest or external users"]
        if kinds:
            phrase += [" (", *join([[GUEST_TYPES.get(k, k)] for k in kinds], last=", "), ")"]
        tenants = value.get("externalTenants") or {}
        if isinstance(tenants, dict) and tenants.get("membershipKind") == "enumerated":
            listed: list[Phrase] = [[f"external tenant {t}"] for t in _list(tenants.get("members"))]
            phrase = [*phrase, " from ", *join(listed, last=" or ")]
        elif isinstance(tenants, dict) and tenants.get("membershipKind") == "all":
            phrase = [*phrase, " from any external organization"]
        return [phrase]

    def users(self, users: dict[str, Any], side: str) -> list[Phrase]:
        """Who is included (side "include") or excluded ("exclude"): one phrase per kind of principal."""
        items: list[Phrase] = []
        people = self.refs(_list(users.get(f"{side}Users")), USER_KEYWORDS, "user")
        if people:
            items.append(join(people))
        groups = self.refs(_list(users.get(f"{side}Groups")), {}, "group")
        if groups:
            items.append([f"members of the group{'s' if len(groups) > 1 else ''} ", *join(groups)])
        roles = self.refs(_list(users.get(f"{side}Roles")), {}, "role")
        if roles:
            items.append([f"holders of the role{'s' if len(roles) > 1 else ''} ", *join(roles)])
        items += self.guests(users.get(f"{side}GuestsOrExternalUsers"))
        return items

    def workloads(self, clients: Any, side: str) -> list[Phrase]:
        if not isinstance(clients, dict):
            return []
        keywords = {"ServicePrincipalsInMyTenant": "all service principals in this tenant"}
        return self.refs(_list(clients.get(f"{side}ServicePrincipals")), keywords, "service principal")

    def apps(self, apps: dict[str, Any], side: str) -> list[Phrase]:
        items = self.refs(_list(apps.get(f"{side}Applications")), APP_KEYWORDS, "application")
        if side == "include":
            items += [[USER_ACTIONS.get(a, a)] for a in _list(apps.get("includeUserActions"))]
            contexts = self.refs(_list(apps.get("includeAuthenticationContextClassReferences")), {})
            items += [["the authentication context ", *c] for c in contexts]
        return items

    def locations(self, ids: list[str]) -> list[Phrase]:
        return self.refs(ids, LOCATION_KEYWORDS, "named location")

    def conditions(self, conditions: dict[str, Any]) -> list[tuple[str, Phrase]]:
        rows: list[tuple[str, Phrase]] = []
        platforms = conditions.get("platforms") or {}
        if isinstance(platforms, dict) and (
            platforms.get("includePlatforms") or platforms.get("excludePlatforms")
        ):
            phrase = join(_words(_list(platforms.get("includePlatforms")), PLATFORMS), last=" or ")
            excluded = _list(platforms.get("excludePlatforms"))
            if excluded:
                phrase += [", except ", *join(_words(excluded, PLATFORMS), last=" or ")]
            rows.append(("Device platforms", phrase))
        locations = conditions.get("locations") or {}
        if isinstance(locations, dict) and (
            locations.get("includeLocations") or locations.get("excludeLocations")
        ):
            phrase = join(self.locations(_list(locations.get("includeLocations"))), last=" or ")
            excluded = _list(locations.get("excludeLocations"))
            if excluded:
                phrase += [", except ", *join(self.locations(excluded), last=" or ")]
            rows.append(("Locations", phrase))
        client_apps = _list(conditions.get("clientAppTypes"))
        if client_apps and client_apps != ["all"]:
            rows.append(("Client apps", join(_words(client_apps, CLIENT_APPS), last=" or ")))
        for field, label in (
            ("signInRiskLevels", "Sign-in risk"),
            ("userRiskLevels", "User risk"),
            ("servicePrincipalRiskLevels", "Service principal risk"),
        ):
            levels = _list(conditions.get(field))
            if levels:
                rows.append((label, join([[level] for level in levels], last=" or ")))
        for field, label in (("insiderRiskLevels", "Insider risk"), ("agentIdRiskLevels", "Agent risk")):
            if conditions.get(field):
                rows.append((label, [str(conditions[field])]))
        devices = conditions.get("devices") or {}
        device_filter = devices.get("deviceFilter") if isinstance(devices, dict) else None
        if isinstance(device_filter, dict) and device_filter.get("rule"):
            verb = "excluding" if device_filter.get("mode") == "exclude" else "only"
            rows.append(("Device filter", [f"{verb} devices matching ", Code(str(device_filter["rule"]))]))
        states = conditions.get("deviceStates") or {}
        if isinstance(states, dict) and states.get("excludeStates"):
            rows.append(("Device state", ["excluding ", ", ".join(_list(states.get("excludeStates")))]))
        flows = conditions.get("authenticationFlows") or {}
        if isinstance(flows, dict) and flows.get("transferMethods"):
            rows.append(("Authentication flows", [str(flows["transferMethods"]).replace(",", ", ")]))
        return rows

    def grant(self, grant: Any) -> Phrase:
        if not isinstance(grant, dict):
            return []
        controls: list[Phrase] = [[BUILT_IN_CONTROLS.get(c, c)] for c in _list(grant.get("builtInControls"))]
        strength = grant.get("authenticationStrength")
        if isinstance(strength, dict) and strength.get("id"):
            ref = self.names.ref(str(strength["id"]), "authentication strength")
            if ref.name is None and strength.get("displayName"):
                ref = type(ref)(ref.id, str(strength["displayName"]), ref.kind)
            controls.append(["require the authentication strength ", ref])
        for terms in _list(grant.get("termsOfUse")):
            controls.append(
                ["require acceptance of the terms of use ", self.names.ref(terms, "terms of use")]
            )
        for factor in _list(grant.get("customAuthenticationFactors")):
            controls.append([f"require the custom control {factor}"])
        if not controls:
            return []
        operator = " and " if str(grant.get("operator", "OR")).upper() == "AND" else " or "
        if len(controls) > 1:
            label = "all of: " if operator == " and " else "one of: "
            return [label, *join(controls, sep="; ", last=";" + operator)]
        return controls[0]

    def session(self, session: Any) -> list[Phrase]:
        if not isinstance(session, dict):
            return []
        out: list[Phrase] = []
        frequency = session.get("signInFrequency")
        if isinstance(frequency, dict) and frequency.get("isEnabled"):
            if frequency.get("frequencyInterval") == "everyTime":
                out.append(["sign-in frequency: every time"])
            else:
                out.append([f"sign-in frequency: every {frequency.get('value')} {frequency.get('type')}"])
        browser = session.get("persistentBrowser")
        if isinstance(browser, dict) and browser.get("isEnabled"):
            out.append([f"persistent browser session: {browser.get('mode')}"])
        restrictions = session.get("applicationEnforcedRestrictions")
        if isinstance(restrictions, dict) and restrictions.get("isEnabled"):
            out.append(["use app-enforced restrictions"])
        mcas = session.get("cloudAppSecurity")
        if isinstance(mcas, dict) and mcas.get("isEnabled"):
            kind = str(mcas.get("cloudAppSecurityType"))
            out.append([CLOUD_APP_SECURITY.get(kind, f"use Conditional Access App Control ({kind})")])
        cae = session.get("continuousAccessEvaluation")
        if isinstance(cae, dict) and cae.get("mode"):
            out.append([CAE_MODES.get(str(cae["mode"]), f"continuous access evaluation: {cae['mode']}")])
        if session.get("disableResilienceDefaults"):
            out.append(["resilience defaults disabled"])
        secure = session.get("secureSignInSession")
        if isinstance(secure, dict) and secure.get("isEnabled"):
            out.append(["require token protection for sign-in sessions"])
        profile = session.get("globalSecureAccessFilteringProfile")
        if isinstance(profile, dict) and profile.get("isEnabled"):
            out.append(["use a Global Secure Access filtering profile"])
        return out

    def policy(self, policy: dict[str, Any]) -> Section:
        conditions = policy.get("conditions") or {}
        users = conditions.get("users") or {}
        apps = conditions.get("applications") or {}
        clients = conditions.get("clientApplications")
        included, excluded = self.users(users, "include"), self.users(users, "exclude")
        workloads = self.workloads(clients, "include")
        who: Phrase = join(included, sep="; ", last="; ") if included else []
        if workloads:
            who += [" and " if who else "", "the workload identities ", *join(workloads)]
        if not who:
            who = ["no one"]
        targets, skipped = self.apps(apps, "include"), self.apps(apps, "exclude")
        grant, session = self.grant(policy.get("grantControls")), self.session(policy.get("sessionControls"))
        cond_rows = self.conditions(conditions)

        sentence: Phrase = ["Applies to ", *who]
        if excluded:
            sentence += [", except ", *join(excluded, sep="; ", last="; ")]
        sentence += [", when accessing ", *(join(targets) or ["no cloud apps"])]
        if skipped:
            sentence += [" (except ", *join(skipped), ")"]
        if cond_rows:
            sentence += [", under these conditions: "]
            sentence += join(
                [[label.lower(), " ", *value] for label, value in cond_rows], sep="; ", last="; "
            )
        outcome: list[Phrase] = []
        if grant:
            outcome.append(grant)
        if session:
            outcome.append(["session: ", *join(session, sep="; ", last="; ")])
        sentence += [
            ". ",
            "Then: ",
            *(join(outcome, sep="; ", last="; ") if outcome else ["no controls"]),
            ".",
        ]

        rows: list[tuple[str, Phrase]] = [("Users included", join(included, sep="; ", last="; ") or ["none"])]
        rows.append(("Users excluded", join(excluded, sep="; ", last="; ") or ["none"]))
        if workloads:
            rows.append(("Workload identities", join(workloads)))
            skipped_sp = self.workloads(clients, "exclude")
            if skipped_sp:
                rows.append(("Workload identities excluded", join(skipped_sp)))
        rows.append(("Target resources", join(targets) or ["none"]))
        if skipped:
            rows.append(("Resources excluded", join(skipped)))
        app_filter = apps.get("applicationFilter")
        if isinstance(app_filter, dict) and app_filter.get("rule"):
            rows.append(
                ("App filter", [f"{app_filter.get('mode')} apps matching ", Code(str(app_filter["rule"]))])
            )
        rows += cond_rows
        rows.append(("Grant", grant or ["no grant controls"]))
        rows.append(("Session", join(session, sep="; ", last="; ") or ["no session controls"]))
        if policy.get("description"):
            rows.append(("Description", [str(policy["description"])]))
        state = str(policy.get("state"))
        title = str(policy.get("displayName") or policy.get("id"))
        return Section(
            f"ca-{policy.get('id')}",
            title,
            [Para(sentence, "lead"), Facts(rows)],
            badge=STATES.get(state, Badge(state, "info")),
        )


def ca_section(view: SnapshotView, names: Names, not_captured: Para | None) -> Section:
    """The Conditional Access section: a summary line, then one subsection per policy."""
    section = Section("conditional-access", "Conditional Access")
    if not_captured is not None:
        section.blocks.append(not_captured)
        return section
    policies = sorted(objects(view, "conditionalAccessPolicies"), key=lambda p: str(p.get("displayName", "")))
    counts = {
        label: sum(1 for p in policies if p.get("state") == state) for state, label in _STATE_WORDS.items()
    }
    section.blocks.append(
        Para([f"{len(policies)} policies: " + ", ".join(f"{n} {label}" for label, n in counts.items()) + "."])
    )
    phrasing = Phrasing(names)
    section.subsections = [phrasing.policy(p) for p in policies]
    return section


_STATE_WORDS = {"enabled": "on", "enabledForReportingButNotEnforced": "report-only", "disabled": "off"}
