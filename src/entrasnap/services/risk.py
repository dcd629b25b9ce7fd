"""Risk flags on security-relevant changes between two snapshots.

Rules are data: each has an id, a severity, a one-line reason, the catalog types it applies to, and
when it fires — on an object added, on an object removed, or on a modified object (comparing the two
versions of its record). A flag may point at the property path it concerns, so renderings can mark
the property change too. docs/DIFF.md lists every rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["high", "medium", "low"]
Event = Literal["added", "removed", "modified"]
Record = dict[str, Any]

SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")

# Built-in directory roles whose holders can take over the tenant or large parts of it (template ids).
PRIVILEGED_ROLES: dict[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
}

CA = ("conditionalAccessPolicies",)
APPS = ("applications", "servicePrincipals")
ROLE_GRANTS = ("roleAssignments", "roleEligibilitySchedules", "roleAssignmentSchedules")
AUTHZ = ("authorizationPolicy",)
CROSS_TENANT = ("crossTenantAccessPolicyDefault", "crossTenantAccessPolicyPartners")

# Ordered from most restrictive to most open: a move to the right widens access.
INVITES_FROM = ("none", "adminsAndGuestInviters", "adminsGuestInvitersAndAllMembers", "everyone")
GUEST_ROLES = (
    "2af84b1e-32c8-42b7-82bc-daa82404023b",  # restricted guest user
    "10dae51f-b6af-4016-8d66-8c2a99b929b3",  # guest user (default)
    "a0b1b346-4d3e-4e8b-98f8-753987be4970",  # same access as members
)
ACCESS_TYPES = ("blocked", "allowed")


@dataclass(frozen=True)
class Flag:
    """A rule that fired on one object; ``path`` is the property it concerns (None: the whole object)."""

    id: str
    severity: Severity
    reason: str
    path: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "severity": self.severity, "reason": self.reason}
        if self.path is not None:
            out["path"] = self.path
        return out


Test = Callable[[Record | None, Record | None], bool]


@dataclass(frozen=True)
class Rule:
    """When ``event`` happens to an object of one of ``types`` and ``test(before, after)`` holds, flag it.

    ``before``/``after`` are the object records (``{"id", "object", "children"}``); None for the side
    where the object does not exist.
    """

    id: str
    severity: Severity
    reason: str
    types: tuple[str, ...]
    event: Event
    test: Test
    path: str | None = None
    condition: str = ""  # how the test reads, for docs/DIFF.md

    def flag(self) -> Flag:
        return Flag(self.id, self.severity, self.reason, self.path)


# --- reading records -------------------------------------------------------------------------------


def value(record: Record | None, path: str) -> Any:
    """A property of a record by dotted path: ``object`` properties, or ``children.NAME`` for children."""
    if record is None:
        return None
    current: Any = record if path.startswith("children.") else record.get("object")
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _lower_set(values: Any) -> set[str]:
    if isinstance(values, list):
        return {str(v).lower() for v in values if v is not None and not isinstance(v, dict | list)}
    return set()


def _keys(values: Any, key: str) -> set[str]:
    if isinstance(values, list):
        return {str(v.get(key)).lower() for v in values if isinstance(v, dict)}
    return set()


# --- tests, built from data ------------------------------------------------------------------------


def turned(path: str, to: tuple[Any, ...], unless_from: tuple[Any, ...] = ()) -> Test:
    """The property is now one of ``to`` and was not before (nor one of ``unless_from``)."""

    def test(before: Record | None, after: Record | None) -> bool:
        old, new = value(before, path), value(after, path)
        return new in to and old not in to and old not in unless_from

    return test


def went(path: str, old: tuple[Any, ...], new: tuple[Any, ...]) -> Test:
    """The property went from one of ``old`` to one of ``new``."""

    def test(before: Record | None, after: Record | None) -> bool:
        return value(before, path) in old and value(after, path) in new

    return test


def widened(path: str, order: tuple[str, ...]) -> Test:
    """The property moved right along ``order`` (most restrictive first); unknown values never fire."""

    lowered = tuple(o.lower() for o in order)

    def rank(v: Any) -> int:
        return lowered.index(v.lower()) if isinstance(v, str) and v.lower() in lowered else -1

    def test(before: Record | None, after: Record | None) -> bool:
        old, new = rank(value(before, path)), rank(value(after, path))
        return old >= 0 and new > old

    return test


def gained(path: str) -> Test:
    """A set-like array (of ids or values) has members it did not have."""

    def test(before: Record | None, after: Record | None) -> bool:
        return bool(_lower_set(value(after, path)) - _lower_set(value(before, path)))

    return test


def gained_keyed(path: str, key: str) -> Test:
    """An array of objects has an element (identified by ``key``) it did not have."""

    def test(before: Record | None, after: Record | None) -> bool:
        return bool(_keys(value(after, path), key) - _keys(value(before, path), key))

    return test


def lost(path: str, member: str) -> Test:
    """A set-like array had ``member`` and no longer has it (also when the array itself went away)."""

    def test(before: Record | None, after: Record | None) -> bool:
        return member in _lower_set(value(before, path)) and member not in _lower_set(value(after, path))

    return test


def went_away(path: str) -> Test:
    """The property had a value and now has none."""

    def test(before: Record | None, after: Record | None) -> bool:
        return value(before, path) not in (None, "", [], {}) and value(after, path) in (None, "", [], {})

    return test


def privileged(path: str, side: Literal["before", "after"]) -> Test:
    """The record (before or after) refers to a privileged role through ``path``."""

    def test(before: Record | None, after: Record | None) -> bool:
        role = value(after if side == "after" else before, path)
        return isinstance(role, str) and role.lower() in PRIVILEGED_ROLES

    return test


def both(*tests: Test) -> Test:
    def test(before: Record | None, after: Record | None) -> bool:
        return all(t(before, after) for t in tests)

    return test


def _access_rules(section: str) -> list[Rule]:
    return [
        Rule(
            f"crossTenant.{section}-{target}-allowed",
            "high" if section != "b2bCollaborationOutbound" else "medium",
            f"cross-tenant {section} access for {target} changed from blocked to allowed",
            CROSS_TENANT,
            "modified",
            widened(f"{section}.{target}.accessType", ACCESS_TYPES),
            path=f"{section}.{target}.accessType",
            condition=f"`{section}.{target}.accessType` blocked → allowed",
        )
        for target in ("usersAndGroups", "applications")
    ]


def _turned_on(types: tuple[str, ...], path: str, rule_id: str, severity: Severity, reason: str) -> Rule:
    return Rule(
        rule_id,
        severity,
        reason,
        types,
        "modified",
        went(path, (False,), (True,)),
        path,
        f"`{path}` false → true",
    )


RULES: tuple[Rule, ...] = (
    # Conditional Access
    Rule(
        "ca.policy-deleted",
        "high",
        "a Conditional Access policy that was enabled or in report-only mode was deleted",
        CA,
        "removed",
        lambda before, after: value(before, "state") != "disabled",
        condition="policy removed whose `state` was not `disabled`",
    ),
    Rule(
        "ca.policy-disabled",
        "high",
        "a Conditional Access policy was disabled",
        CA,
        "modified",
        turned("state", ("disabled",)),
        "state",
        "`state` → `disabled`",
    ),
    Rule(
        "ca.policy-report-only",
        "high",
        "an enforced Conditional Access policy was switched to report-only",
        CA,
        "modified",
        went("state", ("enabled",), ("enabledForReportingButNotEnforced",)),
        "state",
        "`state` `enabled` → `enabledForReportingButNotEnforced`",
    ),
    *(
        Rule(
            f"ca.exclusion-added.{what}",
            "high",
            f"{label} excluded from a Conditional Access policy",
            CA,
            "modified",
            gained(f"conditions.users.exclude{what.capitalize()}"),
            f"conditions.users.exclude{what.capitalize()}",
            f"`conditions.users.exclude{what.capitalize()}` gains a member",
        )
        for what, label in (("users", "users were"), ("groups", "groups were"), ("roles", "roles were"))
    ),
    Rule(
        "ca.exclusion-added.guests",
        "high",
        "guests or external users were excluded from a Conditional Access policy",
        CA,
        "modified",
        lambda before, after: (
            value(after, "conditions.users.excludeGuestsOrExternalUsers") not in (None, {})
            and value(after, "conditions.users.excludeGuestsOrExternalUsers")
            != value(before, "conditions.users.excludeGuestsOrExternalUsers")
        ),
        "conditions.users.excludeGuestsOrExternalUsers",
        "`conditions.users.excludeGuestsOrExternalUsers` set or changed",
    ),
    Rule(
        "ca.exclusion-added.applications",
        "medium",
        "applications were excluded from a Conditional Access policy",
        CA,
        "modified",
        gained("conditions.applications.excludeApplications"),
        "conditions.applications.excludeApplications",
        "`conditions.applications.excludeApplications` gains a member",
    ),
    Rule(
        "ca.exclusion-added.locations",
        "medium",
        "locations were excluded from a Conditional Access policy",
        CA,
        "modified",
        gained("conditions.locations.excludeLocations"),
        "conditions.locations.excludeLocations",
        "`conditions.locations.excludeLocations` gains a member",
    ),
    Rule(
        "ca.mfa-removed",
        "high",
        "multifactor authentication was removed from a Conditional Access policy's grant controls",
        CA,
        "modified",
        lost("grantControls.builtInControls", "mfa"),
        "grantControls",
        '`grantControls.builtInControls` loses `"mfa"` (or grant controls go away)',
    ),
    Rule(
        "ca.auth-strength-removed",
        "high",
        "an authentication strength was removed from a Conditional Access policy's grant controls",
        CA,
        "modified",
        went_away("grantControls.authenticationStrength"),
        "grantControls",
        "`grantControls.authenticationStrength` had a value and now has none",
    ),
    # Applications and service principals
    Rule(
        "app.password-added",
        "high",
        "a new client secret (password credential) was added",
        APPS,
        "modified",
        gained_keyed("passwordCredentials", "keyId"),
        "passwordCredentials",
        "`passwordCredentials` gains an element (new `keyId`)",
    ),
    Rule(
        "app.key-added",
        "high",
        "a new certificate (key credential) was added",
        APPS,
        "modified",
        gained_keyed("keyCredentials", "keyId"),
        "keyCredentials",
        "`keyCredentials` gains an element (new `keyId`)",
    ),
    Rule(
        "app.federated-credential-added",
        "high",
        "a new federated identity credential was added",
        APPS,
        "modified",
        gained_keyed("children.federatedIdentityCredentials", "id"),
        "federatedIdentityCredentials",
        "child `federatedIdentityCredentials` gains an element",
    ),
    Rule(
        "app.owner-added",
        "medium",
        "a new owner can manage the application's credentials and settings",
        APPS,
        "modified",
        gained("children.owners"),
        "owners",
        "child `owners` gains a member",
    ),
    # Privileged roles
    *(
        Rule(
            f"role.privileged-{kind}",
            "high",
            f"a new {label} for a privileged directory role",
            (key,),
            "added",
            privileged("roleDefinitionId", "after"),
            condition="object added whose `roleDefinitionId` is a privileged role's template id",
        )
        for key, kind, label in (
            ("roleAssignments", "assignment", "role assignment"),
            ("roleEligibilitySchedules", "eligibility", "PIM eligibility"),
            ("roleAssignmentSchedules", "active-assignment", "PIM active assignment"),
        )
    ),
    Rule(
        "role.privileged-member",
        "high",
        "a new member of a privileged directory role",
        ("directoryRoles",),
        "modified",
        both(privileged("roleTemplateId", "after"), gained("children.members")),
        "members",
        "privileged role (by `roleTemplateId`) whose child `members` gains a member",
    ),
    Rule(
        "role.privileged-role-activated",
        "high",
        "a privileged directory role was activated with members",
        ("directoryRoles",),
        "added",
        both(privileged("roleTemplateId", "after"), gained("children.members")),
        condition="privileged role (by `roleTemplateId`) added with members",
    ),
    # Tenant-wide policies
    Rule(
        "policy.security-defaults-off",
        "high",
        "security defaults were turned off",
        ("securityDefaults",),
        "modified",
        went("isEnabled", (True,), (False,)),
        "isEnabled",
        "`isEnabled` true → false",
    ),
    Rule(
        "authz.invites-widened",
        "medium",
        "more people can invite guests",
        AUTHZ,
        "modified",
        widened("allowInvitesFrom", INVITES_FROM),
        "allowInvitesFrom",
        "`allowInvitesFrom` moves along " + " → ".join(INVITES_FROM),
    ),
    Rule(
        "authz.guest-access-widened",
        "high",
        "guests were given broader directory access",
        AUTHZ,
        "modified",
        widened("guestUserRoleId", GUEST_ROLES),
        "guestUserRoleId",
        "`guestUserRoleId` restricted guest → guest → member access",
    ),
    _turned_on(
        AUTHZ,
        "defaultUserRolePermissions.allowedToCreateApps",
        "authz.users-create-apps",
        "medium",
        "users can register applications",
    ),
    _turned_on(
        AUTHZ,
        "defaultUserRolePermissions.allowedToCreateTenants",
        "authz.users-create-tenants",
        "medium",
        "users can create tenants",
    ),
    _turned_on(
        AUTHZ,
        "defaultUserRolePermissions.allowedToCreateSecurityGroups",
        "authz.users-create-groups",
        "low",
        "users can create security groups",
    ),
    _turned_on(
        AUTHZ,
        "allowUserConsentForRiskyApps",
        "authz.risky-consent",
        "high",
        "users can consent to risky applications",
    ),
    _turned_on(
        AUTHZ,
        "allowEmailVerifiedUsersToJoinOrganization",
        "authz.email-verified-join",
        "medium",
        "email-verified users can join the organization",
    ),
    Rule(
        "authz.msol-unblocked",
        "medium",
        "legacy MSOnline PowerShell access is no longer blocked",
        AUTHZ,
        "modified",
        went("blockMsolPowerShell", (True,), (False,)),
        "blockMsolPowerShell",
        "`blockMsolPowerShell` true → false",
    ),
    Rule(
        "authz.user-consent-widened",
        "medium",
        "users were given more rights to consent to applications",
        AUTHZ,
        "modified",
        gained("defaultUserRolePermissions.permissionGrantPoliciesAssigned"),
        "defaultUserRolePermissions.permissionGrantPoliciesAssigned",
        "`defaultUserRolePermissions.permissionGrantPoliciesAssigned` gains a policy",
    ),
    # Cross-tenant access (defaults and partners)
    *_access_rules("b2bCollaborationInbound"),
    *_access_rules("b2bDirectConnectInbound"),
    _turned_on(
        CROSS_TENANT,
        "inboundTrust.isMfaAccepted",
        "crossTenant.trust-mfa",
        "medium",
        "MFA performed in other tenants is now trusted",
    ),
    _turned_on(
        CROSS_TENANT,
        "inboundTrust.isCompliantDeviceAccepted",
        "crossTenant.trust-compliant-device",
        "medium",
        "other tenants' compliant-device claims are now trusted",
    ),
    _turned_on(
        CROSS_TENANT,
        "inboundTrust.isHybridAzureADJoinedDeviceAccepted",
        "crossTenant.trust-hybrid-device",
        "medium",
        "other tenants' hybrid-joined-device claims are now trusted",
    ),
    _turned_on(
        CROSS_TENANT,
        "automaticUserConsentSettings.inboundAllowed",
        "crossTenant.auto-consent-inbound",
        "medium",
        "users from other tenants are consented automatically",
    ),
)

BY_TYPE: dict[tuple[str, Event], tuple[Rule, ...]] = {}
for _rule in RULES:
    for _key in _rule.types:
        BY_TYPE[(_key, _rule.event)] = (*BY_TYPE.get((_key, _rule.event), ()), _rule)


def has_rules(key: str, event: Event) -> bool:
    """Whether any rule looks at ``event`` on ``key`` (records are only loaded when some rule needs them)."""
    return (key, event) in BY_TYPE


def assess(key: str, event: Event, before: Record | None, after: Record | None) -> list[Flag]:
    """The flags the rules raise for one object of type ``key``."""
    return [rule.flag() for rule in BY_TYPE.get((key, event), ()) if rule.test(before, after)]


def worst(flags: Iterable[Flag]) -> Severity | None:
    found = {f.severity for f in flags}
    return next((s for s in SEVERITIES if s in found), None)
