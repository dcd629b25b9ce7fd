"""Identity governance: entitlement management, access reviews, terms of use and lifecycle workflows.

Endpoints: https://learn.microsoft.com/graph/api/resources/entitlementmanagement-overview,
.../resources/accessreviewsv2-overview, .../resources/agreement and
.../resources/identitygovernance-lifecycleworkflows-overview. Relations between entitlement-management
objects (a package's catalog, a policy's package) are kept in internal properties that are stripped at
render time (``extra["strip"]``) and serve ``$expand`` and the per-catalog/per-package views.
"""

from __future__ import annotations

import itertools
from typing import Any

from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.odata import bad_request
from entrasnap.fakegraph.resource import GOVERNANCE, P1, P2, V1, Expansion, Resource
from entrasnap.fakegraph.state import JSON, Store

EM = "identityGovernance/entitlementManagement"
CATALOGS = f"{EM}/catalogs"
PACKAGES = f"{EM}/accessPackages"
POLICIES = f"{EM}/assignmentPolicies"
ORGS = f"{EM}/connectedOrganizations"
SETTINGS = f"{EM}/settings"
DEFINITIONS = "identityGovernance/accessReviews/definitions"
AGREEMENTS = "identityGovernance/termsOfUse/agreements"
WORKFLOWS = "identityGovernance/lifecycleWorkflows/workflows"

# Application permissions. EntitlementManagement.* VERIFIED (learn accesspackagecatalog-get);
# AccessReview.*, Agreement.*, LifecycleWorkflows.* UNVERIFIED (facts-policies.md section 4).
EM_READ = ("EntitlementManagement.Read.All", "EntitlementManagement.ReadWrite.All")
EM_WRITE = ("EntitlementManagement.ReadWrite.All",)
AR_READ = ("AccessReview.Read.All", "AccessReview.ReadWrite.All")
AR_WRITE = ("AccessReview.ReadWrite.All",)
TOU_READ = ("Agreement.Read.All", "Agreement.ReadWrite.All")
TOU_WRITE = ("Agreement.ReadWrite.All",)
LCW_READ = ("LifecycleWorkflows.Read.All", "LifecycleWorkflows.ReadWrite.All")
LCW_WRITE = ("LifecycleWorkflows.ReadWrite.All",)
CRUD = frozenset({"GET", "POST"})
ITEM_RW = frozenset({"GET", "PATCH", "DELETE"})
INTERNAL = ("catalogId", "accessPackageId")  # relations, never emitted


def _em(path: str, type_: str, **kwargs: Any) -> Resource:
    kwargs.setdefault("license", P2)
    kwargs.setdefault("versions", V1)  # beta serves the legacy entitlement-management shapes: not modelled
    extra = {"strip": INTERNAL, **kwargs.pop("extra", {})}
    return Resource(path, "set", type_, EM_READ, EM_WRITE, extra=extra, **kwargs)


def _stamp_modified(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj["modifiedDateTime"] = obj["createdDateTime"]
    return obj


def catalog_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    if not obj.get("displayName"):
        raise bad_request("Property 'displayName' is required.", "BadRequest")
    obj.setdefault("description", None)
    obj.setdefault("catalogType", "userManaged")
    obj.setdefault("state", "published")
    obj.setdefault("isExternallyVisible", False)
    return _stamp_modified(store, obj, params)


def package_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    catalog = obj.pop("catalog", None)
    catalog_id = catalog.get("id") if isinstance(catalog, dict) else None
    if not catalog_id or catalog_id not in store.set(CATALOGS):
        raise bad_request(
            'The access package must name an existing catalog: "catalog": {"id": ...}.', "BadRequest"
        )
    obj["catalogId"] = catalog_id
    obj.setdefault("description", None)
    obj.setdefault("isHidden", False)
    return _stamp_modified(store, obj, params)


def package_deleted(store: Store, obj: JSON) -> None:
    if store.set(POLICIES).index("accessPackageId").get(obj["id"].lower()):
        raise bad_request("The access package has assignment policies; delete them first.", "BadRequest")


def catalog_deleted(store: Store, obj: JSON) -> None:
    if obj.get("catalogType") == "serviceDefault":
        raise bad_request("The built-in General catalog cannot be deleted.", "BadRequest")
    if store.set(PACKAGES).index("catalogId").get(obj["id"].lower()):
        raise bad_request("The catalog contains access packages; delete them first.", "BadRequest")


def policy_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    package = obj.pop("accessPackage", None)
    package_id = package.get("id") if isinstance(package, dict) else None
    found = store.set(PACKAGES).get(str(package_id))
    if found is None:
        raise bad_request(
            'The policy must name an existing access package: "accessPackage": {"id": ...}.', "BadRequest"
        )
    obj["accessPackageId"] = package_id
    obj["catalogId"] = found["catalogId"]
    for key in (
        "description",
        "automaticRequestSettings",
        "expiration",
        "requestApprovalSettings",
        "requestorSettings",
        "reviewSettings",
    ):
        obj.setdefault(key, None)
    obj.setdefault("allowedTargetScope", "notSpecified")
    obj.setdefault("specificAllowedTargets", [])
    obj.setdefault("notificationSettings", {"isAssignmentNotificationDisabled": False})
    return _stamp_modified(store, obj, params)


def org_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj.setdefault("description", None)
    obj.setdefault("identitySources", [])
    obj.setdefault("state", "configured")
    return _stamp_modified(store, obj, params)


RESOURCES = [
    _em(
        "/identityGovernance/entitlementManagement/catalogs",
        "microsoft.graph.accessPackageCatalog",
        methods=CRUD,
        item_methods=ITEM_RW,
        on_create=catalog_created,
        on_delete=catalog_deleted,
        extra={"read_only": ("catalogType",)},
    ),
    _em(
        "/identityGovernance/entitlementManagement/catalogs/{id}/accessPackages",
        "microsoft.graph.accessPackage",
        source=PACKAGES,
        match=(("catalogId", "id"),),
    ),
    _em(
        "/identityGovernance/entitlementManagement/accessPackages",
        "microsoft.graph.accessPackage",
        methods=CRUD,
        item_methods=ITEM_RW,
        on_create=package_created,
        on_delete=package_deleted,
        expand={"catalog": Expansion("ref", CATALOGS, "catalogId")},
    ),
    _em(
        "/identityGovernance/entitlementManagement/accessPackages/{id}/assignmentPolicies",
        "microsoft.graph.accessPackageAssignmentPolicy",
        source=POLICIES,
        match=(("accessPackageId", "id"),),
    ),
    _em(
        "/identityGovernance/entitlementManagement/assignmentPolicies",
        "microsoft.graph.accessPackageAssignmentPolicy",
        methods=CRUD,
        item_methods=frozenset({"GET", "DELETE"}),
        on_create=policy_created,
        expand={
            "accessPackage": Expansion("ref", PACKAGES, "accessPackageId"),
            "catalog": Expansion("ref", CATALOGS, "catalogId"),
        },
    ),
    _em(
        "/identityGovernance/entitlementManagement/connectedOrganizations",
        "microsoft.graph.connectedOrganization",
        methods=CRUD,
        item_methods=ITEM_RW,
        on_create=org_created,
    ),
    Resource(
        "/identityGovernance/entitlementManagement/connectedOrganizations/{id}/internalSponsors",
        "links",
        "microsoft.graph.directoryObject",
        EM_READ,
        EM_WRITE,
        methods=CRUD,
        license=P2,
    ),
    Resource(
        "/identityGovernance/entitlementManagement/connectedOrganizations/{id}/externalSponsors",
        "links",
        "microsoft.graph.directoryObject",
        EM_READ,
        EM_WRITE,
        methods=CRUD,
        license=P2,
    ),
    Resource(
        "/identityGovernance/entitlementManagement/settings",
        "singleton",
        "microsoft.graph.entitlementManagementSettings",
        EM_READ,
        EM_WRITE,
        methods=frozenset({"GET", "PATCH"}),
        license=P2,
        versions=V1,
    ),
    Resource(
        "/identityGovernance/accessReviews/definitions",
        "set",
        "microsoft.graph.accessReviewScheduleDefinition",
        AR_READ,
        AR_WRITE,
        methods=CRUD,
        item_methods=frozenset({"GET", "DELETE"}),
        license=P2,
        extra={"stamps": ()},
        expand={"instances": Expansion("contained", DEFINITIONS + "/{id}/instances")},
    ),
    Resource(
        "/identityGovernance/accessReviews/definitions/{id}/instances",
        "set",
        "microsoft.graph.accessReviewInstance",
        AR_READ,
        AR_WRITE,
        license=P2,
    ),
    Resource(
        "/identityGovernance/termsOfUse/agreements",
        "set",
        "microsoft.graph.agreement",
        TOU_READ,
        TOU_WRITE,
        methods=CRUD,
        item_methods=ITEM_RW,
        license=P1,
        page_size=None,
        context="agreements",
        extra={"stamps": ()},
    ),
    Resource(
        "/identityGovernance/lifecycleWorkflows/workflows",
        "set",
        "microsoft.graph.identityGovernance.workflow",
        LCW_READ,
        LCW_WRITE,
        methods=CRUD,
        item_methods=ITEM_RW,
        license=GOVERNANCE,
        expand={"tasks": Expansion("contained", WORKFLOWS + "/{id}/tasks")},
    ),
    Resource(
        "/identityGovernance/lifecycleWorkflows/workflows/{id}/tasks",
        "set",
        "microsoft.graph.identityGovernance.task",
        LCW_READ,
        LCW_WRITE,
        license=GOVERNANCE,
    ),
]

# Lifecycle workflow built-in task definitions (learn: "Lifecycle workflow built-in tasks").
TASKS = {
    "enable": ("6fc52c9d-398b-4305-9763-15f42c1676fc", "Enable User Account", "joiner"),
    "tap": ("1b555e50-7f65-41d5-b514-5894a026d10d", "Generate TAP And Send Email", "joiner"),
    "welcome": ("70b29d51-b59a-4773-9280-8841dfd3f2ea", "Send Welcome Email", "joiner"),
    "disable": ("1dfdfcc7-52fa-4c2e-bf3a-e3919cc12950", "Disable User Account", "leaver"),
    "groups": ("b3a31406-2a15-4c9a-b25b-a658fa5f07fc", "Remove user from all groups", "leaver"),
    "delete": ("8d18588d-9ad3-4c0f-99d0-ec215f0e3dff", "Delete User Account", "leaver"),
}


def _single_user(user_id: str, name: str) -> JSON:
    return {"@odata.type": "#microsoft.graph.singleUser", "userId": user_id, "description": name}


def _populate_entitlement(store: Store, ctx: Context, users: list[JSON], groups: list[JSON]) -> None:
    catalogs = [
        ("General", "Built-in catalog.", "serviceDefault", False),
        ("Marketing", "Resources for the marketing department", "userManaged", False),
        ("Partner collaboration", "Access for connected organizations", "userManaged", True),
        ("Engineering", "Source control, build and test resources", "userManaged", False),
    ]
    catalog_ids: list[str] = []
    for name, description, kind, external in catalogs:
        created = ctx.time(900, 100)
        catalog = store.add(
            CATALOGS,
            {
                "id": ctx.uuid(),
                "displayName": name,
                "description": description,
                "catalogType": kind,
                "state": "published",
                "isExternallyVisible": external,
                "createdDateTime": created,
                "modifiedDateTime": ctx.time(99, 1),
            },
        )
        catalog_ids.append(catalog["id"])
    approvers = [u for u in users if u.get("userType") == "Member"][:20] or users[:1]
    scopes = ["specificDirectoryUsers", "allMemberUsers", "allConfiguredConnectedOrganizationUsers"]
    for number in range(max(6, len(catalog_ids) * 3)):
        catalog_id = catalog_ids[1 + number % (len(catalog_ids) - 1)]
        catalog_name = store.sets[CATALOGS].objects[catalog_id]["displayName"]
        package = store.add(
            PACKAGES,
            {
                "id": ctx.uuid(),
                "catalogId": catalog_id,
                "displayName": f"{catalog_name} access {number + 1}",
                "description": f"Access package {number + 1} in {catalog_name}",
                "isHidden": ctx.chance(0.2),
                "createdDateTime": ctx.time(600, 30),
                "modifiedDateTime": ctx.time(29, 1),
            },
        )
        approver = ctx.pick([u["id"] for u in approvers]) if approvers else None
        scope = scopes[number % len(scopes)]
        targets = (
            [
                {
                    "@odata.type": "#microsoft.graph.groupMembers",
                    "groupId": g["id"],
                    "description": g["displayName"],
                }
                for g in ctx.rng.sample(groups, min(1, len(groups)))
            ]
            if scope == "specificDirectoryUsers"
            else []
        )
        approval = {
            "isApprovalRequiredForAdd": approver is not None,
            "isApprovalRequiredForUpdate": False,
            "isRequestorJustificationRequired": True,
            "stages": [
                {
                    "durationBeforeAutomaticDenial": "P14D",
                    "isApproverJustificationRequired": True,
                    "isEscalationEnabled": False,
                    "durationBeforeEscalation": "PT0S",
                    "primaryApprovers": [_single_user(approver, "Package approver")],
                    "fallbackPrimaryApprovers": [],
                    "escalationApprovers": [],
                    "fallbackEscalationApprovers": [],
                }
            ]
            if approver
            else [],
        }
        store.add(
            POLICIES,
            {
                "id": ctx.uuid(),
                "accessPackageId": package["id"],
                "catalogId": catalog_id,
                "displayName": "Initial policy"
                if scope != "allConfiguredConnectedOrganizationUsers"
                else "Partners",
                "description": "Users request access for one year",
                "allowedTargetScope": scope,
                "specificAllowedTargets": targets,
                "automaticRequestSettings": None,
                "expiration": {"endDateTime": None, "duration": "P365D", "type": "afterDuration"},
                "requestApprovalSettings": approval,
                "requestorSettings": {
                    "enableTargetsToSelfAddAccess": True,
                    "enableTargetsToSelfUpdateAccess": False,
                    "enableTargetsToSelfRemoveAccess": True,
                    "allowCustomAssignmentSchedule": False,
                    "enableOnBehalfRequestorsToAddAccess": False,
                    "enableOnBehalfRequestorsToUpdateAccess": False,
                    "enableOnBehalfRequestorsToRemoveAccess": False,
                    "onBehalfRequestors": [],
                },
                "reviewSettings": None,
                "notificationSettings": {"isAssignmentNotificationDisabled": False},
                "createdDateTime": package["createdDateTime"],
                "modifiedDateTime": package["modifiedDateTime"],
            },
        )
    partners = [
        ("Fabrikam", "fabrikam.com", True),
        ("Woodgrove Bank", "woodgrovebank.com", False),
        ("Tailspin Toys", "tailspintoys.com", True),
    ]
    for name, domain, entra in partners:
        source: JSON = (
            {
                "@odata.type": "#microsoft.graph.azureActiveDirectoryTenant",
                "tenantId": ctx.uuid(),
                "displayName": name,
            }
            if entra
            else {
                "@odata.type": "#microsoft.graph.domainIdentitySource",
                "domainName": domain,
                "displayName": domain,
            }
        )
        org = store.add(
            ORGS,
            {
                "id": ctx.uuid(),
                "displayName": name,
                "description": f"Partner {domain}",
                "identitySources": [source],
                "state": "configured" if entra else "proposed",
                "createdDateTime": ctx.time(700, 50),
                "modifiedDateTime": ctx.time(49, 1),
            },
        )
        for user in ctx.rng.sample(approvers, min(2, len(approvers))):
            store.link(f"{ORGS}/internalSponsors", org["id"], user["id"])
        guests = [u["id"] for u in users if u.get("userType") == "Guest"]
        if guests:
            store.link(f"{ORGS}/externalSponsors", org["id"], ctx.pick(guests))
    store.singletons[SETTINGS] = {
        "id": ctx.uuid(),
        "durationUntilExternalUserDeletedAfterBlocked": "P30D",
        "externalUserLifecycleAction": "blockSignInAndDelete",
    }


def _populate_reviews(store: Store, ctx: Context, users: list[JSON], groups: list[JSON]) -> None:
    members = [u for u in users if u.get("userType") == "Member"]
    for number, group in enumerate(groups[:6]):
        owner = members[number % len(members)] if members else None
        scope = {
            "@odata.type": "#microsoft.graph.accessReviewQueryScope",
            "query": f"/groups/{group['id']}/transitiveMembers",
            "queryType": "MicrosoftGraph",
            "queryRoot": None,
        }
        reviewers = (
            [{"query": f"/users/{owner['id']}", "queryType": "MicrosoftGraph", "queryRoot": None}]
            if owner
            else [{"query": "./owners", "queryType": "MicrosoftGraph", "queryRoot": None}]
        )
        created = ctx.time(400, 60)
        completed = number % 3 == 2
        definition = store.add(
            DEFINITIONS,
            {
                "id": ctx.uuid(),
                "displayName": f"Quarterly review of {group['displayName']}",
                "createdDateTime": created,
                "lastModifiedDateTime": ctx.time(59, 1),
                "status": "Completed" if completed else "InProgress",
                "descriptionForAdmins": "Members of the group are reviewed every quarter",
                "descriptionForReviewers": "Please confirm who still needs access.",
                "createdBy": {
                    "id": owner["id"],
                    "displayName": owner["displayName"],
                    "userPrincipalName": owner["userPrincipalName"],
                }
                if owner
                else None,
                "scope": scope,
                "instanceEnumerationScope": None,
                "reviewers": reviewers,
                "fallbackReviewers": [],
                "additionalNotificationRecipients": [],
                "stageSettings": [],
                "settings": {
                    "mailNotificationsEnabled": True,
                    "reminderNotificationsEnabled": True,
                    "justificationRequiredOnApproval": True,
                    "defaultDecisionEnabled": False,
                    "defaultDecision": "None",
                    "instanceDurationInDays": 14,
                    "autoApplyDecisionsEnabled": ctx.chance(0.5),
                    "recommendationsEnabled": True,
                    "decisionHistoriesForReviewersEnabled": False,
                    "recommendationInsightSettings": [],
                    "recommendationLookBackDuration": None,
                    "applyActions": [{"@odata.type": "#microsoft.graph.removeAccessApplyAction"}],
                    "recurrence": {
                        "pattern": {
                            "type": "absoluteMonthly",
                            "interval": 3,
                            "month": 0,
                            "dayOfMonth": 0,
                            "daysOfWeek": [],
                            "firstDayOfWeek": "sunday",
                            "index": "first",
                        },
                        "range": {
                            "type": "noEnd",
                            "numberOfOccurrences": 0,
                            "recurrenceTimeZone": None,
                            "startDate": created[:10],
                            "endDate": "9999-12-31",
                        },
                    },
                },
            },
        )
        for instance in range(2):
            start = ctx.time(200 - instance * 100, 120 - instance * 100)
            store.add(
                f"{DEFINITIONS}/{definition['id']}/instances",
                {
                    "id": ctx.uuid(),
                    "startDateTime": start,
                    "endDateTime": ctx.future(1, 14) if instance else start,
                    "status": "Completed" if instance == 0 or completed else "InProgress",
                    "scope": scope,
                    "reviewers": reviewers,
                    "fallbackReviewers": [],
                },
            )


def _populate_agreements(store: Store, ctx: Context) -> None:
    for name, frequency, viewing, expiry in (
        ("All users terms of use", "P90D", False, None),
        ("Contoso ToU for guest users", None, True, "P365D"),
        ("Acceptable use of company devices", "P365D", True, None),
    ):
        store.add(
            AGREEMENTS,
            {
                "id": ctx.uuid(),
                "displayName": name,
                "termsExpiration": {"startDateTime": ctx.time(300, 100), "frequency": expiry}
                if expiry
                else None,
                "userReacceptRequiredFrequency": frequency,
                "isViewingBeforeAcceptanceRequired": viewing,
                "isPerDeviceAcceptanceRequired": False,
            },
        )


def _populate_workflows(store: Store, ctx: Context) -> None:
    flows = [
        (
            "New hire onboarding",
            "joiner",
            "employeeHireDate",
            -2,
            ["enable", "tap", "welcome"],
            "(department eq 'Sales')",
        ),
        ("Pre-hire account setup", "joiner", "employeeHireDate", -7, ["tap"], "(employeeType eq 'Employee')"),
        (
            "Offboarding on last day",
            "leaver",
            "employeeLeaveDateTime",
            0,
            ["disable", "groups"],
            "(accountEnabled eq true)",
        ),
        (
            "Post-offboarding cleanup",
            "leaver",
            "employeeLeaveDateTime",
            30,
            ["delete"],
            "(department ne 'Legal')",
        ),
    ]
    for name, category, attribute, offset, task_keys, rule in flows:
        created = ctx.time(500, 40)
        workflow = store.add(
            WORKFLOWS,
            {
                "id": ctx.uuid(),
                "category": category,
                "displayName": name,
                "description": f"{name} for employees",
                "isEnabled": True,
                "isSchedulingEnabled": ctx.chance(0.7),
                "createdDateTime": created,
                "lastModifiedDateTime": ctx.time(39, 1),
                "deletedDateTime": None,
                "nextScheduleRunDateTime": ctx.future(0, 1),
                "version": 1 + ctx.rng.randrange(4),
                "executionConditions": {
                    "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions",
                    "scope": {
                        "@odata.type": "#microsoft.graph.identityGovernance.ruleBasedSubjectSet",
                        "rule": rule,
                    },
                    "trigger": {
                        "@odata.type": "#microsoft.graph.identityGovernance.timeBasedAttributeTrigger",
                        "timeBasedAttribute": attribute,
                        "offsetInDays": offset,
                    },
                },
            },
        )
        for sequence, key in enumerate(task_keys, start=1):
            definition, display, task_category = TASKS[key]
            arguments = (
                [{"name": "tapLifetimeMinutes", "value": "480"}, {"name": "tapIsUsableOnce", "value": "true"}]
                if key == "tap"
                else []
            )
            store.add(
                f"{WORKFLOWS}/{workflow['id']}/tasks",
                {
                    "id": ctx.uuid(),
                    "arguments": arguments,
                    "category": task_category,
                    "continueOnError": False,
                    "description": display,
                    "displayName": display,
                    "executionSequence": sequence,
                    "isEnabled": True,
                    "taskDefinitionId": definition,
                },
            )


def populate(store: Store, ctx: Context) -> None:
    users_set = store.sets.get("users")
    groups_set = store.sets.get("groups")
    users = list(itertools.islice(users_set.after(), 500)) if users_set else []
    groups = (
        [g for g in itertools.islice(groups_set.after(), 200) if g.get("securityEnabled")]
        if groups_set
        else []
    )
    _populate_entitlement(store, ctx, users, groups)
    _populate_reviews(store, ctx, users, groups)
    _populate_agreements(store, ctx)
    _populate_workflows(store, ctx)
