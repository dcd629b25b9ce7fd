"""Users and groups: the directory's people and their memberships.

Endpoints: https://learn.microsoft.com/graph/api/resources/user and .../resources/group.
"""

from __future__ import annotations

import math

from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.names import (
    CITIES,
    DEPARTMENTS,
    GIVEN,
    JOB_TITLES,
    SURNAMES,
    ascii_nickname,
    team_name,
)
from entrasnap.fakegraph.resource import Expansion, Resource, reads
from entrasnap.fakegraph.state import JSON, Store

# Returned by GET /users when $select is absent (user: list, "Optional query parameters").
USER_DEFAULT_SELECT = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
# Returned by GET /groups when $select is absent (group: list / "Properties" default set).
GROUP_DEFAULT_SELECT = (
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
)
# Values a sparse stored object omits (besides nulls); rendered back when selected.
USER_DEFAULTS: JSON = {
    "onPremisesExtensionAttributes": {f"extensionAttribute{n}": None for n in range(1, 16)},
}
GROUP_DEFAULTS: JSON = {
    "groupTypes": [],
    "proxyAddresses": [],
    "resourceBehaviorOptions": [],
    "resourceProvisioningOptions": [],
    "onPremisesProvisioningErrors": [],
    "serviceProvisioningErrors": [],
    "assignedLabels": [],
    "assignedLicenses": [],
}
# Properties Graph returns only when reading one user; $select of them on the list answers 501.
USER_SINGLE_ONLY = (
    "aboutMe",
    "birthday",
    "hireDate",
    "interests",
    "mySite",
    "pastProjects",
    "preferredName",
    "responsibilities",
    "schools",
    "skills",
    "mailboxSettings",
)
USER_READ = reads("User", "Directory")
GROUP_READ = reads("GroupMember", "Group", "Directory")
MEMBER_READ = reads("GroupMember", "Group", "Directory")
MEMBER_WRITE = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")

# Well-known SKU ids (Microsoft's "Product names and service plan identifiers" list).
SKU_E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
SKU_E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
SKU_P2 = "eec0eb4f-6444-4f95-aba0-50c24d67f998"
SKU_ENTERPRISE_MOBILITY = "b05e124f-c7cc-45a0-a6aa-8cf78c946968"


def user_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """Defaults Graph fills in when a user is created."""
    obj.setdefault("userType", "Member")
    obj.setdefault("businessPhones", [])
    obj.setdefault(
        "identities",
        [
            {
                "signInType": "userPrincipalName",
                "issuer": store.domain,
                "issuerAssignedId": obj.get("userPrincipalName"),
            },
        ],
    )
    obj.pop("passwordProfile", None)  # write-only: never returned
    return obj


def group_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj.setdefault("groupTypes", [])
    obj.setdefault("proxyAddresses", [])
    obj.setdefault("resourceBehaviorOptions", [])
    obj.setdefault("resourceProvisioningOptions", [])
    obj.setdefault("onPremisesProvisioningErrors", [])
    obj.setdefault("serviceProvisioningErrors", [])
    for key in (
        "classification",
        "description",
        "expirationDateTime",
        "membershipRule",
        "membershipRuleProcessingState",
        "onPremisesLastSyncDateTime",
        "onPremisesSyncEnabled",
        "preferredDataLocation",
        "preferredLanguage",
        "theme",
        "visibility",
        "mail",
    ):
        obj.setdefault(key, None)
    obj.setdefault("isAssignableToRole", False)
    obj.setdefault("renewedDateTime", obj.get("createdDateTime"))
    return obj


RESOURCES = [
    Resource(
        "/users",
        "set",
        "microsoft.graph.user",
        USER_READ,
        write=("User.ReadWrite.All", "Directory.ReadWrite.All"),
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "PATCH", "DELETE"}),
        cost=2,
        default_select=USER_DEFAULT_SELECT,
        delta=True,
        soft_delete=True,
        directory_object=True,
        extra={"defaults": USER_DEFAULTS, "single_only": USER_SINGLE_ONLY},
        expand={"manager": Expansion("links", "users/manager")},
        on_create=user_created,
    ),
    Resource("/users/{id}/manager", "link", "microsoft.graph.directoryObject", USER_READ),
    Resource(
        "/users/{id}/appRoleAssignments",
        "set",
        "microsoft.graph.appRoleAssignment",
        reads("AppRoleAssignment", "Directory"),
        source="appRoleAssignments",
        match=(("principalId", "id"),),
    ),
    Resource(
        "/groups",
        "set",
        "microsoft.graph.group",
        GROUP_READ,
        write=("Group.ReadWrite.All", "Directory.ReadWrite.All", "Group.Create"),
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "PATCH", "DELETE"}),
        default_select=GROUP_DEFAULT_SELECT,
        delta=True,
        soft_delete=True,
        directory_object=True,
        extra={"defaults": GROUP_DEFAULTS},
        expand={
            "members": Expansion("links", "groups/members"),
            "owners": Expansion("links", "groups/owners"),
        },
        on_create=group_created,
    ),
    Resource(
        "/groups/{id}/members",
        "links",
        "microsoft.graph.directoryObject",
        MEMBER_READ,
        write=MEMBER_WRITE,
        methods=frozenset({"GET", "POST"}),
        cost=3,
    ),
    Resource(
        "/groups/{id}/owners",
        "links",
        "microsoft.graph.directoryObject",
        MEMBER_READ,
        write=MEMBER_WRITE,
        methods=frozenset({"GET", "POST"}),
    ),
    Resource(
        "/groups/{id}/appRoleAssignments",
        "set",
        "microsoft.graph.appRoleAssignment",
        reads("AppRoleAssignment", "Directory"),
        source="appRoleAssignments",
        match=(("principalId", "id"),),
    ),
]


def _sparse(obj: JSON, defaults: JSON) -> JSON:
    """Drop nulls and the all-null extension attributes: the engine renders them back when selected.

    Users are the bulk of a large tenant; other code reads them with ``.get`` for optional properties.
    """
    return {k: v for k, v in obj.items() if v is not None and not (k in defaults and v == defaults[k])}


def _user(ctx: Context, index: int, used_upns: set[str]) -> JSON:
    given, surname = ctx.choice(GIVEN), ctx.choice(SURNAMES)
    guest = ctx.chance(0.08)
    synced = not guest and ctx.chance(0.3)
    nickname = ascii_nickname(given + surname[:1]).lower()
    upn_local = nickname
    while upn_local in used_upns:
        upn_local = f"{nickname}{ctx.between(10, 99999)}"
    used_upns.add(upn_local)
    city, state, country, usage = CITIES[ctx.below(len(CITIES))]
    created = ctx.time(1500, 10)
    mail_domain = "fabrikam.com" if guest else ctx.domain
    mail = f"{upn_local}@{mail_domain}"
    upn = (
        f"{upn_local}_{mail_domain.replace('.', '_')}#EXT#@{ctx.domain}"
        if guest
        else f"{upn_local}@{ctx.domain}"
    )
    display = f"{given} {surname}"
    if index % 97 == 0:
        display = "Adele Vance"  # a duplicated display name across users
    object_id = ctx.uuid()
    phone = f"+1 425 555 {ctx.between(1000, 9999)}"
    licensed = not guest and ctx.chance(0.85)
    skus = [SKU_E5] if licensed and ctx.chance(0.3) else ([SKU_E3] if licensed else [])
    user: JSON = {
        "id": object_id,
        "deletedDateTime": None,
        "accountEnabled": not ctx.chance(0.06),
        "ageGroup": None,
        "assignedLicenses": [{"disabledPlans": [], "skuId": sku} for sku in skus],
        "businessPhones": [] if guest else [phone],
        "city": None if guest else city,
        "companyName": "Fabrikam" if guest else None,
        "consentProvidedForMinor": None,
        "country": None if guest else country,
        "createdDateTime": created,
        "creationType": "Invitation" if guest else None,
        "department": None if guest else ctx.choice(DEPARTMENTS),
        "displayName": display,
        "employeeHireDate": None if guest else ctx.time(3000, 20),
        "employeeId": None if guest else f"{100000 + index}",
        "employeeLeaveDateTime": None,
        "employeeOrgData": None
        if guest
        else {"division": ctx.choice(DEPARTMENTS), "costCenter": f"CC{ctx.between(100, 999)}"},
        "employeeType": "Guest" if guest else ctx.choice(["Employee", "Contractor", "Employee"]),
        "externalUserState": "Accepted" if guest else None,
        "externalUserStateChangeDateTime": created if guest else None,
        "faxNumber": None,
        "givenName": given,
        "identities": [{"signInType": "userPrincipalName", "issuer": ctx.domain, "issuerAssignedId": upn}],
        "imAddresses": [] if guest else [upn],
        "isResourceAccount": None,
        "jobTitle": None if guest else ctx.choice(JOB_TITLES),
        "lastPasswordChangeDateTime": ctx.time(300, 1),
        "legalAgeGroupClassification": None,
        "mail": mail,
        "mailNickname": upn_local if not guest else f"{upn_local}_{mail_domain.replace('.', '_')}#EXT#",
        "mobilePhone": None if guest or ctx.chance(0.5) else phone,
        "officeLocation": None if guest else f"{ctx.between(1, 40)}/{ctx.between(1000, 3000)}",
        "onPremisesDistinguishedName": f"CN={display},OU=Users,DC=corp,DC=contoso,DC=com" if synced else None,
        "onPremisesDomainName": "corp.contoso.com" if synced else None,
        "onPremisesImmutableId": f"{object_id[:8]}AAAAAA==" if synced else None,
        "onPremisesLastSyncDateTime": ctx.time(2, 0) if synced else None,
        "onPremisesProvisioningErrors": [],
        "onPremisesSamAccountName": upn_local[:20] if synced else None,
        "onPremisesSecurityIdentifier": f"S-1-5-21-1004336348-1177238915-682003330-{1000 + index}"
        if synced
        else None,
        "onPremisesSyncEnabled": True if synced else None,
        "onPremisesUserPrincipalName": f"{upn_local}@corp.contoso.com" if synced else None,
        "otherMails": [mail] if guest else [],
        "passwordPolicies": "DisablePasswordExpiration" if ctx.chance(0.2) else None,
        "postalCode": None if guest else f"{ctx.between(10000, 99999)}",
        "preferredDataLocation": None,
        "preferredLanguage": None if guest else ctx.choice(["en-US", "en-GB", "fr-FR", "de-DE", "ja-JP"]),
        "proxyAddresses": [] if guest else [f"SMTP:{mail}"],
        "securityIdentifier": f"S-1-12-1-{ctx.below(10**9)}-{ctx.below(10**9)}",
        "serviceProvisioningErrors": [],
        "showInAddressList": None,
        "signInSessionsValidFromDateTime": created,
        "state": state if not guest else None,
        "streetAddress": None if guest else f"{ctx.between(1, 9999)} Main Street",
        "surname": surname,
        "usageLocation": usage if licensed else None,
        "userPrincipalName": upn,
        "userType": "Guest" if guest else "Member",
    }
    return _sparse(user, USER_DEFAULTS)


def _group(ctx: Context, index: int, used: set[str]) -> JSON:
    rng = ctx.rng
    name = team_name(rng, index)
    kind = rng.random()
    unified = kind < 0.35
    dynamic = 0.35 <= kind < 0.45
    role_assignable = 0.45 <= kind < 0.5
    synced = 0.5 <= kind < 0.6
    nickname = ascii_nickname(name)[:50].lower()
    while nickname in used:
        nickname = f"{nickname[:44]}{ctx.between(10000, 99999)}"
    used.add(nickname)
    mail = f"{nickname}@{ctx.domain}" if unified else None
    created = ctx.time(1500, 5)
    group: JSON = {
        "id": ctx.uuid(),
        "deletedDateTime": None,
        "classification": ctx.choice([None, None, "Confidential", "General"]) if unified else None,
        "createdDateTime": created,
        "description": None if ctx.chance(0.3) else f"{name} — managed by IT",
        "displayName": name,
        "expirationDateTime": None,
        "groupTypes": (["Unified"] if unified else []) + (["DynamicMembership"] if dynamic else []),
        "isAssignableToRole": True if role_assignable else None,
        "mail": mail,
        "mailEnabled": unified,
        "mailNickname": nickname,
        "membershipRule": '(user.department -eq "Sales")' if dynamic else None,
        "membershipRuleProcessingState": "On" if dynamic else None,
        "onPremisesDomainName": "corp.contoso.com" if synced else None,
        "onPremisesLastSyncDateTime": ctx.time(2, 0) if synced else None,
        "onPremisesNetBiosName": "CORP" if synced else None,
        "onPremisesProvisioningErrors": [],
        "onPremisesSamAccountName": nickname[:20] if synced else None,
        "onPremisesSecurityIdentifier": f"S-1-5-21-1004336348-1177238915-682003330-{50000 + index}"
        if synced
        else None,
        "onPremisesSyncEnabled": True if synced else None,
        "preferredDataLocation": None,
        "preferredLanguage": None,
        "proxyAddresses": [f"SMTP:{mail}", f"smtp:{nickname}@{ctx.domain.split('.')[0]}.onmicrosoft.com"]
        if mail
        else [],
        "renewedDateTime": created,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": ["Team"] if unified and ctx.chance(0.4) else [],
        "securityEnabled": not unified or ctx.chance(0.5),
        "securityIdentifier": f"S-1-12-1-{ctx.below(10**9)}-{ctx.below(10**9)}",
        "serviceProvisioningErrors": [],
        "theme": None,
        "visibility": ctx.choice(["Public", "Private"]) if unified else None,
    }
    return group


def populate(store: Store, ctx: Context) -> None:
    """Users, groups, memberships (nested and dynamic), owners and managers."""
    plan = ctx.plan
    rng = ctx.rng
    used: set[str] = set()
    user_ids: list[str] = []
    for index in range(plan.users):
        user = _user(ctx, index, used)
        store.add("users", user, directory_object=True)
        user_ids.append(user["id"])
    members = [uid for uid in user_ids if store.sets["users"].objects[uid]["userType"] == "Member"]
    for uid in user_ids[1:]:
        if ctx.chance(0.7):
            store.link("users/manager", uid, members[ctx.below(min(len(members), 1 + len(members) // 20))])
    group_ids: list[str] = []
    used_nicknames: set[str] = set()
    for index in range(plan.groups):
        group = _group(ctx, index, used_nicknames)
        store.add("groups", group, directory_object=True)
        group_ids.append(group["id"])
    # Membership sizes follow a long tail around the plan's average; a few groups are large.
    for position, gid in enumerate(group_ids):
        size = max(0, int(rng.expovariate(1 / plan.avg_members)))
        if position == 0:
            size = max(size, min(len(user_ids), plan.avg_members * 10))  # one large group for paging
        for uid in ctx.sample(user_ids, size):
            store.link("groups/members", gid, uid)
        for uid in ctx.sample(members, 1 + (rng.random() < 0.3)):
            store.link("groups/owners", gid, uid)
    # Nested groups: about one group in eight contains another group.
    for gid in ctx.sample(group_ids, math.ceil(len(group_ids) / 8)):
        child = ctx.pick(group_ids)
        if child != gid:
            store.link("groups/members", gid, child)
