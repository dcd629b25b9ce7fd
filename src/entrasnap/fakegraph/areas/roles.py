"""Roles: directory roles, unified RBAC, PIM for Entra roles and for groups, role management policies.

Endpoints (learn.microsoft.com/graph/api/resources/...): directoryrole, rbacapplication,
unifiedroledefinition, unifiedroleassignment, unifiedroleeligibilityschedule (+instance, +request),
unifiedroleassignmentschedule (+instance, +request), unifiedrolemanagementpolicy (+assignment, +rule),
privilegedaccessgroup (PIM for groups); beta only: the deviceManagement and exchange RBAC providers.
Shapes follow the documented examples in ``graph-examples``: ``v1.0__directoryrole-*``,
``v1.0__rbacapplication-*``, ``v1.0__policyroot-list-rolemanagement*``,
``v1.0__unifiedrolemanagementpolicy-list-rules`` and ``v1.0__privilegedaccessgroup-*``.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from entrasnap.fakegraph.areas.directory import ROLE_TEMPLATES
from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.engine import Engine, Request, Response
from entrasnap.fakegraph.odata import GraphError, bad_request
from entrasnap.fakegraph.resource import BETA, P2, Expansion, Resource, reads
from entrasnap.fakegraph.router import Match
from entrasnap.fakegraph.state import JSON, Store, isotime

# The built-in role templates (id, displayName, description) come from the directory area.

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
CA_ADMIN = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
WELL_KNOWN = [GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN, SECURITY_ADMIN, USER_ADMIN, CA_ADMIN, GLOBAL_READER]

ROLE_DEFINITIONS = "roleManagement/directory/roleDefinitions"
ROLE_ASSIGNMENTS = "roleManagement/directory/roleAssignments"
ELIGIBILITY_SCHEDULES = "roleManagement/directory/roleEligibilitySchedules"
ELIGIBILITY_INSTANCES = "roleManagement/directory/roleEligibilityScheduleInstances"
ELIGIBILITY_REQUESTS = "roleManagement/directory/roleEligibilityScheduleRequests"
ASSIGNMENT_SCHEDULES = "roleManagement/directory/roleAssignmentSchedules"
ASSIGNMENT_INSTANCES = "roleManagement/directory/roleAssignmentScheduleInstances"
ASSIGNMENT_REQUESTS = "roleManagement/directory/roleAssignmentScheduleRequests"
POLICIES = "policies/roleManagementPolicies"
POLICY_ASSIGNMENTS = "policies/roleManagementPolicyAssignments"
PIM_GROUP = "identityGovernance/privilegedAccess/group"

# Permissions (learn.microsoft.com API pages; "least privileged" first).
ROLE_READ = (
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
ROLE_WRITE = ("RoleManagement.ReadWrite.Directory",)
ELIGIBILITY_READ = (
    "RoleEligibilitySchedule.Read.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
)
ELIGIBILITY_WRITE = ("RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory")
ASSIGNMENT_READ = (
    "RoleAssignmentSchedule.Read.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
)
ASSIGNMENT_WRITE = ("RoleAssignmentSchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory")
POLICY_READ = (
    "RoleManagementPolicy.Read.Directory",
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagementPolicy.ReadWrite.Directory",
    "RoleManagement.ReadWrite.Directory",
    "RoleManagementPolicy.Read.AzureADGroup",
    "RoleManagementPolicy.ReadWrite.AzureADGroup",
)
POLICY_WRITE = (
    "RoleManagementPolicy.ReadWrite.Directory",
    "RoleManagement.ReadWrite.Directory",
    "RoleManagementPolicy.ReadWrite.AzureADGroup",
)
PIM_ELIGIBILITY_READ = (
    "PrivilegedEligibilitySchedule.Read.AzureADGroup",
    "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup",
)
PIM_ASSIGNMENT_READ = (
    "PrivilegedAssignmentSchedule.Read.AzureADGroup",
    "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
)
ENTITLEMENT_READ = reads("EntitlementManagement")
DEVICE_RBAC_READ = (
    "DeviceManagementRBAC.Read.All",
    "DeviceManagementRBAC.ReadWrite.All",
    "RoleManagement.Read.All",
)
EXCHANGE_READ = (
    "RoleManagement.Read.Exchange",
    "RoleManagement.ReadWrite.Exchange",
    "RoleManagement.Read.All",
)

PRINCIPAL = Expansion("ref", "", "principalId")
ROLE_DEFINITION = Expansion("ref", ROLE_DEFINITIONS, "roleDefinitionId")
SCHEDULE_EXPAND = {"principal": PRINCIPAL, "roleDefinition": ROLE_DEFINITION}
PIM_GROUP_EXPAND = {"principal": PRINCIPAL, "group": Expansion("ref", "groups", "groupId")}
REQUEST_ACTIONS = {
    "adminAssign",
    "adminUpdate",
    "adminRemove",
    "selfActivate",
    "selfDeactivate",
    "adminExtend",
    "adminRenew",
    "selfExtend",
    "selfRenew",
}


# --- ids ---------------------------------------------------------------------------------------------


def _packed(*guids: str) -> str:
    """Graph's compact ids of role assignments: base64url of the role and principal GUIDs (little-endian)."""
    raw = b"".join(uuid.UUID(g).bytes_le for g in guids)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unique(taken: set[str], base: str, suffix: str = "") -> str:
    number = 1
    while f"{base}-{number}{suffix}" in taken:
        number += 1
    value = f"{base}-{number}{suffix}"
    taken.add(value)
    return value


# --- role definitions ----------------------------------------------------------------------------------

_ACTIONS: dict[str, list[str]] = {
    GLOBAL_ADMIN: [
        "microsoft.directory/users/allProperties/allTasks",
        "microsoft.directory/groups/allProperties/allTasks",
        "microsoft.directory/applications/allProperties/allTasks",
        "microsoft.directory/roleAssignments/allProperties/allTasks",
        "microsoft.directory/conditionalAccessPolicies/allProperties/allTasks",
        "microsoft.azure.serviceHealth/allEntities/allTasks",
        "microsoft.office365.webPortal/allEntities/standard/read",
    ],
    PRIVILEGED_ROLE_ADMIN: [
        "microsoft.directory/roleAssignments/allProperties/allTasks",
        "microsoft.directory/roleDefinitions/allProperties/allTasks",
        "microsoft.directory/privilegedIdentityManagement/allProperties/allTasks",
        "microsoft.directory/servicePrincipals/appRoleAssignedTo/update",
    ],
    SECURITY_ADMIN: [
        "microsoft.directory/identityProtection/allProperties/allTasks",
        "microsoft.directory/conditionalAccessPolicies/basic/update",
        "microsoft.directory/namedLocations/standard/read",
        "microsoft.office365.protectionCenter/allEntities/standard/update",
    ],
    USER_ADMIN: [
        "microsoft.directory/users/create",
        "microsoft.directory/users/delete",
        "microsoft.directory/users/basic/update",
        "microsoft.directory/users/password/update",
        "microsoft.directory/groups/create",
        "microsoft.directory/groups/members/update",
    ],
    CA_ADMIN: [
        "microsoft.directory/conditionalAccessPolicies/create",
        "microsoft.directory/conditionalAccessPolicies/delete",
        "microsoft.directory/conditionalAccessPolicies/standard/read",
        "microsoft.directory/conditionalAccessPolicies/basic/update",
        "microsoft.directory/namedLocations/create",
        "microsoft.directory/namedLocations/basic/update",
    ],
    GLOBAL_READER: [
        "microsoft.directory/users/allProperties/read",
        "microsoft.directory/groups/allProperties/read",
        "microsoft.directory/applications/allProperties/read",
        "microsoft.directory/roleAssignments/allProperties/read",
        "microsoft.office365.webPortal/allEntities/standard/read",
    ],
}
_AREAS = [
    ("User", "users"),
    ("Group", "groups"),
    ("Application", "applications"),
    ("Cloud Application", "applications"),
    ("Device", "devices"),
    ("Authentication", "users/authenticationMethods"),
    ("Security", "identityProtection"),
    ("Conditional Access", "conditionalAccessPolicies"),
    ("Helpdesk", "users/password"),
    ("Password", "users/password"),
    ("License", "users/licenses"),
    ("Directory", "directoryObjects"),
    ("Domain", "domains"),
    ("Hybrid", "onPremisesSynchronization"),
    ("Billing", "organization"),
    ("Reports", "auditLogs"),
    ("Attribute", "customSecurityAttributeDefinitions"),
    ("External", "identityProviders"),
    ("Identity Governance", "entitlementManagement"),
]


def _actions_for(template_id: str, name: str) -> list[str]:
    if template_id in _ACTIONS:
        return _ACTIONS[template_id]
    area = next((slug for word, slug in _AREAS if name.startswith(word)), None)
    if area is None:
        return [
            "microsoft.office365.webPortal/allEntities/standard/read",
            "microsoft.office365.serviceHealth/allEntities/allTasks",
        ]
    if "Reader" in name:
        return [f"microsoft.directory/{area}/allProperties/read"]
    return [
        f"microsoft.directory/{area}/allProperties/allTasks",
        "microsoft.office365.webPortal/allEntities/standard/read",
    ]


def _built_in(template_id: str, name: str, description: str) -> JSON:
    return {
        "id": template_id,
        "description": description,
        "displayName": name,
        "isBuiltIn": True,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "templateId": template_id,
        "version": "1",
        "rolePermissions": [{"allowedResourceActions": _actions_for(template_id, name), "condition": None}],
        "inheritsPermissionsFrom": [],
    }


CUSTOM_ROLES = [
    (
        "Application Registration Reader",
        "Allows reading Application Registrations",
        ["microsoft.directory/applications/allProperties/read"],
    ),
    (
        "Helpdesk Tier 1",
        "Resets passwords and updates basic properties of non-admin users",
        [
            "microsoft.directory/users/password/update",
            "microsoft.directory/users/basic/update",
            "microsoft.directory/users/standard/read",
        ],
    ),
    (
        "Device Compliance Reader",
        "Reads devices and their compliance state",
        ["microsoft.directory/devices/allProperties/read", "microsoft.directory/bitlockerKeys/key/read"],
    ),
]


def role_definition_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """A custom role: Graph fills in isBuiltIn false and templateId = id."""
    if not obj.get("displayName") or not isinstance(obj.get("rolePermissions"), list):
        raise bad_request("displayName and rolePermissions are required.")
    obj["isBuiltIn"] = False
    obj.setdefault("description", None)
    obj.setdefault("isEnabled", True)
    obj.setdefault("resourceScopes", ["/"])
    obj["templateId"] = obj["id"]
    obj.setdefault("version", None)
    for permission in obj["rolePermissions"]:
        if isinstance(permission, dict):
            permission.setdefault("condition", None)
    obj.setdefault("inheritsPermissionsFrom", [])
    return obj


def directory_role_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """Activating a directory role from its template (POST /directoryRoles)."""
    template_id = str(obj.get("roleTemplateId", ""))
    template = next((t for t in ROLE_TEMPLATES if t[0] == template_id), None)
    if template is None:
        raise bad_request(
            "Invalid value specified for property 'roleTemplateId' of resource 'DirectoryRole'.",
            "Request_BadRequest",
        )
    if any(r.get("roleTemplateId") == template_id for r in store.set("directoryRoles").objects.values()):
        raise bad_request(
            "A conflicting object with one or more of the specified property values is present "
            "in the directory.",
            "Request_BadRequest",
        )
    obj["displayName"], obj["description"] = template[1], template[2]
    return obj


# --- schedules shared by generation and requests --------------------------------------------------------


def _schedule_info(start: str, end: str | None) -> JSON:
    return {
        "startDateTime": start,
        "recurrence": None,
        "expiration": {
            "type": "afterDateTime" if end else "noExpiration",
            "endDateTime": end,
            "duration": None,
        },
    }


class _Directory:
    """Writes to the unified RBAC sets; keeps schedules, instances, assignments and roles consistent."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._taken: dict[str, set[str]] = {}

    def taken(self, key: str) -> set[str]:
        """Ids in use in the set at ``key`` (built once, then kept up to date by this writer)."""
        found = self._taken.get(key)
        if found is None:
            found = self._taken[key] = set(self.store.set(key).objects)
        return found

    def eligibility(
        self,
        sid: str,
        principal: str,
        role: str,
        scope: str,
        *,
        created: str,
        info: JSON,
        created_using: str | None = None,
    ) -> JSON:
        schedule: JSON = {
            "id": sid,
            "principalId": principal,
            "roleDefinitionId": role,
            "directoryScopeId": scope,
            "appScopeId": None,
            "createdUsing": created_using or sid,
            "createdDateTime": created,
            "modifiedDateTime": None,
            "status": "Provisioned",
            "memberType": "Direct",
            "scheduleInfo": info,
        }
        self.store.add(ELIGIBILITY_SCHEDULES, schedule)
        instance_id = _unique(self.taken(ELIGIBILITY_INSTANCES), _packed(role, principal), "-e")
        self.store.add(
            ELIGIBILITY_INSTANCES,
            {
                "id": instance_id,
                "principalId": principal,
                "roleDefinitionId": role,
                "directoryScopeId": scope,
                "appScopeId": None,
                "startDateTime": info.get("startDateTime"),
                "endDateTime": (info.get("expiration") or {}).get("endDateTime"),
                "memberType": "Direct",
                "roleEligibilityScheduleId": sid,
            },
        )
        return schedule

    def assignment(
        self,
        principal: str,
        role: str,
        scope: str,
        *,
        created: str,
        info: JSON,
        kind: str = "Assigned",
        schedule_id: str | None = None,
        created_using: str | None = None,
    ) -> tuple[JSON, JSON]:
        """A role assignment with its schedule and instance (kind Assigned or Activated)."""
        assignment_id = _unique(self.taken(ROLE_ASSIGNMENTS), _packed(role, principal))
        assignment: JSON = {
            "id": assignment_id,
            "principalId": principal,
            "directoryScopeId": scope,
            "roleDefinitionId": role,
            "appScopeId": None,
            "condition": None,
            "principalOrganizationId": self.store.tenant_id,
        }
        self.store.add(ROLE_ASSIGNMENTS, assignment)
        sid = schedule_id or assignment_id
        schedule: JSON = {
            "id": sid,
            "principalId": principal,
            "roleDefinitionId": role,
            "directoryScopeId": scope,
            "appScopeId": None,
            "createdUsing": created_using,
            "createdDateTime": created,
            "modifiedDateTime": None,
            "status": "Provisioned",
            "assignmentType": kind,
            "memberType": "Direct",
            "scheduleInfo": info,
        }
        self.store.add(ASSIGNMENT_SCHEDULES, schedule)
        self.store.add(
            ASSIGNMENT_INSTANCES,
            {
                "id": assignment_id,
                "principalId": principal,
                "roleDefinitionId": role,
                "directoryScopeId": scope,
                "appScopeId": None,
                "startDateTime": info.get("startDateTime"),
                "endDateTime": (info.get("expiration") or {}).get("endDateTime"),
                "assignmentType": kind,
                "memberType": "Direct",
                "roleAssignmentOriginId": assignment_id,
                "roleAssignmentScheduleId": sid,
            },
        )
        if scope == "/":
            role_obj = self.directory_role(role)
            if role_obj is not None:
                self.store.link("directoryRoles/members", role_obj["id"], principal)
        return assignment, schedule

    def directory_role(self, template_id: str) -> JSON | None:
        roles = self.store.sets.get("directoryRoles")
        if roles is None:
            return None
        ids = roles.index("roleTemplateId").get(template_id.lower(), [])
        return roles.objects[ids[0]] if ids else None

    def remove_eligibilities(self, principal: str, role: str, scope: str) -> int:
        removed = 0
        for key in (ELIGIBILITY_SCHEDULES, ELIGIBILITY_INSTANCES):
            entity_set = self.store.set(key)
            for obj in list(entity_set.objects.values()):
                if _same(obj, principal, role, scope):
                    entity_set.remove(obj["id"])
                    removed += key == ELIGIBILITY_SCHEDULES
        return removed

    def remove_assignments(self, principal: str, role: str, scope: str, kind: str | None = None) -> int:
        schedules = self.store.set(ASSIGNMENT_SCHEDULES)
        gone = [
            s
            for s in schedules.objects.values()
            if _same(s, principal, role, scope) and (kind is None or s["assignmentType"] == kind)
        ]
        for schedule in gone:
            schedules.remove(schedule["id"])
            instances = self.store.set(ASSIGNMENT_INSTANCES)
            for instance in list(instances.objects.values()):
                if instance["roleAssignmentScheduleId"] == schedule["id"]:
                    instances.remove(instance["id"])
                    self.store.set(ROLE_ASSIGNMENTS).remove(instance["roleAssignmentOriginId"])
        if (
            gone
            and scope == "/"
            and not any(_same(s, principal, role, scope) for s in schedules.objects.values())
        ):
            role_obj = self.directory_role(role)
            if role_obj is not None:
                self.store.unlink("directoryRoles/members", role_obj["id"], principal)
        return len(gone)


def _same(obj: JSON, principal: str, role: str, scope: str) -> bool:
    return bool(
        obj.get("principalId") == principal
        and obj.get("roleDefinitionId") == role
        and obj.get("directoryScopeId") == scope
    )


def _request_defaults(store: Store, obj: JSON) -> tuple[str, str, str, str]:
    action = obj.get("action")
    if action not in REQUEST_ACTIONS:
        raise bad_request(f"The request action '{action}' is not valid.", "InvalidRequestAction")
    principal, role = str(obj.get("principalId", "")), str(obj.get("roleDefinitionId", ""))
    scope = obj.get("directoryScopeId") or "/"
    if store.resolve(principal) is None:
        raise bad_request(f"The principal '{principal}' was not found.", "PrincipalNotFound")
    if store.set(ROLE_DEFINITIONS).get(role) is None:
        raise bad_request(f"The role definition '{role}' was not found.", "RoleDefinitionNotFound")
    if scope != "/" and scope.startswith("/administrativeUnits/"):
        au = scope.rsplit("/", 1)[-1]
        if store.resolve(au) is None:
            raise bad_request(f"The directory scope '{scope}' was not found.", "InvalidDirectoryScope")
    obj["directoryScopeId"] = scope
    now = isotime()
    obj.update({"status": "Provisioned", "completedDateTime": now, "approvalId": None, "customData": None})
    obj.setdefault("appScopeId", None)
    obj.setdefault("isValidationOnly", False)
    obj.setdefault("justification", None)
    obj.setdefault("createdBy", {"application": None, "device": None, "user": None})
    ticket = _dict(obj.get("ticketInfo"))
    obj["ticketInfo"] = {
        "ticketNumber": ticket.get("ticketNumber"),
        "ticketSystem": ticket.get("ticketSystem"),
    }
    info = _dict(obj.get("scheduleInfo"))
    expiration = _dict(info.get("expiration"))
    obj["scheduleInfo"] = {
        "startDateTime": now
        if not info.get("startDateTime") or str(info["startDateTime"]) < now
        else info["startDateTime"],
        "recurrence": info.get("recurrence"),
        "expiration": {
            "type": expiration.get("type", "noExpiration"),
            "endDateTime": expiration.get("endDateTime"),
            "duration": expiration.get("duration"),
        },
    }
    return str(action), principal, role, scope


def _dict(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _revoked(obj: JSON) -> JSON:
    obj.update(
        {"status": "Revoked", "completedDateTime": None, "targetScheduleId": None, "scheduleInfo": None}
    )
    return obj


def eligibility_request_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """POST roleEligibilityScheduleRequests: adminAssign creates the schedule and its instance."""
    action, principal, role, scope = _request_defaults(store, obj)
    rbac = _Directory(store)
    existing = [
        s for s in store.set(ELIGIBILITY_SCHEDULES).objects.values() if _same(s, principal, role, scope)
    ]
    if action == "adminAssign":
        if existing:
            raise bad_request("The Role assignment already exists.", "RoleAssignmentExists")
        obj["targetScheduleId"] = obj["id"]
        if not obj["isValidationOnly"]:
            rbac.eligibility(
                obj["id"],
                principal,
                role,
                scope,
                created=obj["createdDateTime"],
                info=copy.deepcopy(obj["scheduleInfo"]),
            )
        return obj
    if action in {"adminRemove", "adminUpdate", "adminExtend", "adminRenew"} and not existing:
        raise bad_request("The Role assignment does not exist.", "RoleAssignmentDoesNotExist")
    if action == "adminRemove":
        if not obj["isValidationOnly"]:
            rbac.remove_eligibilities(principal, role, scope)
        return _revoked(obj)
    if action in {"adminUpdate", "adminExtend", "adminRenew"}:
        schedule = existing[0]
        if not obj["isValidationOnly"]:
            schedule["scheduleInfo"] = copy.deepcopy(obj["scheduleInfo"])
            schedule["modifiedDateTime"] = obj["createdDateTime"]
            store.set(ELIGIBILITY_SCHEDULES).put(schedule)
        obj["targetScheduleId"] = schedule["id"]
        return obj
    raise bad_request(
        f"The request action '{action}' is not supported for role eligibilities.", "InvalidRequestAction"
    )


def assignment_request_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """POST roleAssignmentScheduleRequests: assign, remove, activate or deactivate a role."""
    action, principal, role, scope = _request_defaults(store, obj)
    rbac = _Directory(store)
    schedules = store.set(ASSIGNMENT_SCHEDULES).objects.values()
    existing = [s for s in schedules if _same(s, principal, role, scope)]
    validate = obj["isValidationOnly"]
    if action in {"adminAssign", "selfActivate"}:
        kind = "Assigned" if action == "adminAssign" else "Activated"
        if existing:
            raise bad_request("The Role assignment already exists.", "RoleAssignmentExists")
        if action == "selfActivate" and not any(
            _same(s, principal, role, scope) for s in store.set(ELIGIBILITY_SCHEDULES).objects.values()
        ):
            raise bad_request(
                "The principal does not have an eligible assignment for this role.",
                "RoleEligibilityScheduleNotFound",
            )
        obj["targetScheduleId"] = obj["id"]
        if not validate:
            rbac.assignment(
                principal,
                role,
                scope,
                created=obj["createdDateTime"],
                info=copy.deepcopy(obj["scheduleInfo"]),
                kind=kind,
                schedule_id=obj["id"],
                created_using=obj["id"],
            )
        return obj
    if action in {"adminRemove", "selfDeactivate"}:
        only = None if action == "adminRemove" else "Activated"
        if not [s for s in existing if only is None or s["assignmentType"] == only]:
            raise bad_request("The Role assignment does not exist.", "RoleAssignmentDoesNotExist")
        if not validate:
            rbac.remove_assignments(principal, role, scope, only)
        return _revoked(obj)
    if not existing:
        raise bad_request("The Role assignment does not exist.", "RoleAssignmentDoesNotExist")
    obj["targetScheduleId"] = existing[0]["id"]
    if not validate:
        existing[0]["scheduleInfo"] = copy.deepcopy(obj["scheduleInfo"])
        existing[0]["modifiedDateTime"] = obj["createdDateTime"]
    return obj


# --- role management policies ------------------------------------------------------------------------


def _target(caller: str, level: str, operations: str) -> JSON:
    return {
        "caller": caller,
        "operations": [operations],
        "level": level,
        "inheritableSettings": [],
        "enforcedSettings": [],
    }


def _rules(group: bool) -> list[JSON]:
    """The 17 rules of a role management policy (v1.0__unifiedrolemanagementpolicy-list-rules.json)."""
    ops = "All" if group else "all"
    prefix = "#microsoft.graph.unifiedRoleManagementPolicy"
    out: list[JSON] = []
    for level, max_duration in (("Eligibility", "P365D"), ("Assignment", "P180D")):
        target = _target("Admin", level, ops)
        out.append(
            {
                "@odata.type": f"{prefix}ExpirationRule",
                "id": f"Expiration_Admin_{level}",
                "isExpirationRequired": group,
                "maximumDuration": max_duration,
                "target": target,
            }
        )
        out.append(
            {
                "@odata.type": f"{prefix}EnablementRule",
                "id": f"Enablement_Admin_{level}",
                "enabledRules": [] if level == "Eligibility" else ["Justification"],
                "target": target,
            }
        )
        for recipient in ("Admin", "Requestor", "Approver"):
            out.append(
                {
                    "@odata.type": f"{prefix}NotificationRule",
                    "id": f"Notification_{recipient}_Admin_{level}",
                    "notificationType": "Email",
                    "recipientType": recipient,
                    "notificationLevel": "All",
                    "isDefaultRecipientsEnabled": True,
                    "notificationRecipients": [],
                    "target": target,
                }
            )
    target = _target("EndUser", "Assignment", ops)
    out.append(
        {
            "@odata.type": f"{prefix}ExpirationRule",
            "id": "Expiration_EndUser_Assignment",
            "isExpirationRequired": True,
            "maximumDuration": "PT8H",
            "target": target,
        }
    )
    out.append(
        {
            "@odata.type": f"{prefix}EnablementRule",
            "id": "Enablement_EndUser_Assignment",
            "enabledRules": ["MultiFactorAuthentication", "Justification"],
            "target": target,
        }
    )
    out.append(
        {
            "@odata.type": f"{prefix}ApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "target": target,
            "setting": {
                "isApprovalRequired": False,
                "isApprovalRequiredForExtension": False,
                "isRequestorJustificationRequired": True,
                "approvalMode": "SingleStage",
                "approvalStages": [
                    {
                        "approvalStageTimeOutInDays": 1,
                        "isApproverJustificationRequired": True,
                        "escalationTimeInMinutes": 0,
                        "isEscalationEnabled": False,
                        "primaryApprovers": [],
                        "escalationApprovers": [],
                    }
                ],
            },
        }
    )
    out.append(
        {
            "@odata.type": f"{prefix}AuthenticationContextRule",
            "id": "AuthenticationContext_EndUser_Assignment",
            "isEnabled": False,
            "claimValue": None,
            "target": target,
        }
    )
    for recipient in ("Admin", "Requestor", "Approver"):
        out.append(
            {
                "@odata.type": f"{prefix}NotificationRule",
                "id": f"Notification_{recipient}_EndUser_Assignment",
                "notificationType": "Email",
                "recipientType": recipient,
                "notificationLevel": "All",
                "isDefaultRecipientsEnabled": True,
                "notificationRecipients": [],
                "target": target,
            }
        )
    return out


_SCOPE_TYPE = re.compile(r"scopeType\s+eq\s+'(?:Directory|DirectoryRole)'", re.I)


def _scope_filter(engine: Engine, request: Request, match: Match) -> Response:
    """``scopeType eq 'Directory'`` and ``'DirectoryRole'`` name one scope (Graph's examples use both)."""
    text = request.query.get("$filter")
    if request.method == "GET" and match.mode in {"collection", "count"} and text:
        text = _SCOPE_TYPE.sub("(scopeType eq 'Directory' or scopeType eq 'DirectoryRole')", text)
        request = dataclasses.replace(request, query={**request.query, "$filter": text})
    return engine.dispatch(request, match)


def _directory_role_key(engine: Engine, request: Request, match: Match) -> Response:
    """``/directoryRoles/roleTemplateId={templateId}`` addresses a role by its template id."""
    for name in ("id", "key"):
        value = match.params.get(name, "")
        if value.lower().startswith("roletemplateid="):
            template = value.split("=", 1)[1].strip("'")
            found = _Directory(engine.store).directory_role(template)
            if found is None:
                raise GraphError(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{template}' does not exist or one of its queried reference-property "
                    "objects are not present.",
                )
            match = Match(match.route, {**match.params, name: found["id"]}, match.cast)
    return engine.dispatch(request, match)


# --- declarations ---------------------------------------------------------------------------------------


def _pim_group(name: str, type_name: str, read: tuple[str, ...]) -> Resource:
    return Resource(
        f"/{PIM_GROUP}/{name}",
        "set",
        f"microsoft.graph.{type_name}",
        read,
        license=P2,
        required_filter=(("groupId",), ("principalId",)),
        expand=PIM_GROUP_EXPAND,
    )


RESOURCES = [
    Resource(
        "/directoryRoles",
        "set",
        "microsoft.graph.directoryRole",
        reads("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory"),
        write=("RoleManagement.ReadWrite.Directory",),
        methods=frozenset({"GET", "POST"}),
        delta=True,
        directory_object=True,
        page_size=None,
        on_create=directory_role_created,
        extra={"handler": _directory_role_key, "stamps": ()},
    ),
    Resource(
        "/directoryRoles/{id}/members",
        "links",
        "microsoft.graph.directoryObject",
        reads("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory"),
        write=("RoleManagement.ReadWrite.Directory",),
        methods=frozenset({"GET", "POST"}),
        extra={"handler": _directory_role_key},
    ),
    Resource(
        "/directoryRoles/{id}/scopedMembers",
        "set",
        "microsoft.graph.scopedRoleMembership",
        reads("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory"),
        source="scopedRoleMemberships",
        match=(("roleId", "id"),),
        extra={"handler": _directory_role_key},
    ),
    Resource(
        f"/{ROLE_DEFINITIONS}",
        "set",
        "microsoft.graph.unifiedRoleDefinition",
        ROLE_READ,
        write=ROLE_WRITE,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "PATCH", "DELETE"}),
        page_size=None,
        on_create=role_definition_created,
        extra={"undeletable": "isBuiltIn", "read_only": ("isBuiltIn", "templateId"), "stamps": ()},
    ),
    Resource(
        f"/{ROLE_ASSIGNMENTS}",
        "set",
        "microsoft.graph.unifiedRoleAssignment",
        ROLE_READ,
        write=ROLE_WRITE,
        expand=SCHEDULE_EXPAND,
    ),
    Resource(
        f"/{ELIGIBILITY_SCHEDULES}",
        "set",
        "microsoft.graph.unifiedRoleEligibilitySchedule",
        ELIGIBILITY_READ,
        license=P2,
        expand=SCHEDULE_EXPAND,
    ),
    Resource(
        f"/{ELIGIBILITY_INSTANCES}",
        "set",
        "microsoft.graph.unifiedRoleEligibilityScheduleInstance",
        ELIGIBILITY_READ,
        license=P2,
        expand=SCHEDULE_EXPAND,
    ),
    Resource(
        f"/{ASSIGNMENT_SCHEDULES}",
        "set",
        "microsoft.graph.unifiedRoleAssignmentSchedule",
        ASSIGNMENT_READ,
        license=P2,
        expand=SCHEDULE_EXPAND,
    ),
    Resource(
        f"/{ASSIGNMENT_INSTANCES}",
        "set",
        "microsoft.graph.unifiedRoleAssignmentScheduleInstance",
        ASSIGNMENT_READ,
        license=P2,
        expand=SCHEDULE_EXPAND,
    ),
    Resource(
        f"/{ELIGIBILITY_REQUESTS}",
        "set",
        "microsoft.graph.unifiedRoleEligibilityScheduleRequest",
        ELIGIBILITY_READ,
        write=ELIGIBILITY_WRITE,
        license=P2,
        methods=frozenset({"GET", "POST"}),
        expand=SCHEDULE_EXPAND,
        on_create=eligibility_request_created,
    ),
    Resource(
        f"/{ASSIGNMENT_REQUESTS}",
        "set",
        "microsoft.graph.unifiedRoleAssignmentScheduleRequest",
        ASSIGNMENT_READ,
        write=ASSIGNMENT_WRITE,
        license=P2,
        methods=frozenset({"GET", "POST"}),
        expand=SCHEDULE_EXPAND,
        on_create=assignment_request_created,
    ),
    Resource(
        f"/{POLICIES}",
        "set",
        "microsoft.graph.unifiedRoleManagementPolicy",
        POLICY_READ,
        required_filter=(("scopeId", "scopeType"),),
        page_size=None,
        expand={"rules": Expansion("contained", POLICIES + "/{id}/rules")},
        extra={"handler": _scope_filter},
    ),
    Resource(
        f"/{POLICIES}/{{id}}/rules",
        "set",
        "microsoft.graph.unifiedRoleManagementPolicyRule",
        POLICY_READ,
        write=POLICY_WRITE,
        item_methods=frozenset({"GET", "PATCH"}),
        page_size=None,
    ),
    Resource(
        f"/{POLICY_ASSIGNMENTS}",
        "set",
        "microsoft.graph.unifiedRoleManagementPolicyAssignment",
        POLICY_READ,
        required_filter=(("scopeId", "scopeType"),),
        page_size=None,
        expand={"policy": Expansion("ref", POLICIES, "policyId")},
        extra={"handler": _scope_filter},
    ),
    _pim_group("eligibilitySchedules", "privilegedAccessGroupEligibilitySchedule", PIM_ELIGIBILITY_READ),
    _pim_group(
        "eligibilityScheduleInstances",
        "privilegedAccessGroupEligibilityScheduleInstance",
        PIM_ELIGIBILITY_READ,
    ),
    _pim_group("assignmentSchedules", "privilegedAccessGroupAssignmentSchedule", PIM_ASSIGNMENT_READ),
    _pim_group(
        "assignmentScheduleInstances", "privilegedAccessGroupAssignmentScheduleInstance", PIM_ASSIGNMENT_READ
    ),
    Resource(
        "/roleManagement/entitlementManagement/roleDefinitions",
        "set",
        "microsoft.graph.unifiedRoleDefinition",
        ENTITLEMENT_READ,
        page_size=None,
    ),
    Resource(
        "/roleManagement/entitlementManagement/roleAssignments",
        "set",
        "microsoft.graph.unifiedRoleAssignment",
        ENTITLEMENT_READ,
        expand={
            "principal": PRINCIPAL,
            "roleDefinition": Expansion(
                "ref", "roleManagement/entitlementManagement/roleDefinitions", "roleDefinitionId"
            ),
        },
    ),
    Resource(
        "/roleManagement/deviceManagement/roleDefinitions",
        "set",
        "microsoft.graph.unifiedRoleDefinition",
        DEVICE_RBAC_READ,
        versions=BETA,
        page_size=None,
    ),
    Resource(
        "/roleManagement/deviceManagement/roleAssignments",
        "set",
        "microsoft.graph.unifiedRoleAssignmentMultiple",
        DEVICE_RBAC_READ,
        versions=BETA,
    ),
    Resource(
        "/roleManagement/exchange/roleDefinitions",
        "set",
        "microsoft.graph.unifiedRoleDefinition",
        EXCHANGE_READ,
        versions=BETA,
        page_size=None,
    ),
    Resource(
        "/roleManagement/exchange/roleAssignments",
        "set",
        "microsoft.graph.unifiedRoleAssignment",
        EXCHANGE_READ,
        versions=BETA,
        expand={"principal": PRINCIPAL},
    ),
]


# --- generation ---------------------------------------------------------------------------------------

# Built-in entitlement management roles (learn.microsoft.com: entitlement-management-delegate).
ENTITLEMENT_ROLES = [
    (
        "ae79f266-94d4-4dab-b730-feca7e132178",
        "Catalog owner",
        "Edit and manage access packages and other resources in a catalog.",
        ["microsoft.entitlementManagement/accessPackageCatalog/allProperties/allTasks"],
    ),
    (
        "44272f93-9762-48e8-af59-1b5351b1d6b3",
        "Catalog reader",
        "View existing access packages within a catalog.",
        ["microsoft.entitlementManagement/accessPackageCatalog/allProperties/read"],
    ),
    (
        "7f480852-ebdc-47d4-87de-0d8498384a83",
        "Access package manager",
        "Edit and manage all access packages within a catalog.",
        ["microsoft.entitlementManagement/accessPackage/allProperties/allTasks"],
    ),
    (
        "e2182095-804a-4656-ae11-64734e9b7ae5",
        "Access package assignment manager",
        "Manage all access package assignments within a catalog.",
        ["microsoft.entitlementManagement/accessPackageAssignment/allProperties/allTasks"],
    ),
    (
        "ba92d953-d8e0-4e39-a797-0cbedb0a89e8",
        "Catalog creator",
        "Create and manage catalogs.",
        ["microsoft.entitlementManagement/accessPackageCatalog/create"],
    ),
]
INTUNE_ROLES = [
    (
        "Policy and Profile manager",
        "Manages compliance policy, configuration profiles and Apple enrollment.",
        [
            "Microsoft.Intune_DeviceConfigurations_Read",
            "Microsoft.Intune_DeviceConfigurations_Create",
            "Microsoft.Intune_DeviceCompliancePolices_Read",
        ],
    ),
    (
        "Help Desk Operator",
        "Performs remote tasks on users and devices and can assign apps or policies.",
        ["Microsoft.Intune_ManagedDevices_Read", "Microsoft.Intune_RemoteTasks_RebootNow"],
    ),
    (
        "Read Only Operator",
        "Views user, device, enrollment, configuration and application information.",
        ["Microsoft.Intune_ManagedDevices_Read", "Microsoft.Intune_MobileApps_Read"],
    ),
    (
        "Application Manager",
        "Manages mobile and managed applications.",
        ["Microsoft.Intune_MobileApps_Read", "Microsoft.Intune_MobileApps_Assign"],
    ),
    (
        "Endpoint Security Manager",
        "Manages security and compliance features.",
        ["Microsoft.Intune_EndpointProtection_Read", "Microsoft.Intune_SecurityBaselines_Read"],
    ),
]
EXCHANGE_ROLES = [
    ("Application Mail.Read", "Allows the app to read email in all mailboxes.", ["Application.Mail.Read"]),
    ("Application Mail.Send", "Allows the app to send mail as any user.", ["Application.Mail.Send"]),
    (
        "Application Calendars.ReadWrite",
        "Allows the app to manage calendars of all mailboxes.",
        ["Application.Calendars.ReadWrite"],
    ),
    (
        "Mail Recipients",
        "Manages existing mailboxes, mail users and mail contacts.",
        ["Get-Mailbox", "Set-Mailbox", "Get-MailUser", "Set-MailUser"],
    ),
    ("Address Lists", "Creates and manages address lists.", ["Get-AddressList", "New-AddressList"]),
]


def _definition(
    role_id: str,
    name: str,
    description: str,
    actions: list[str],
    *,
    built_in: bool,
    version: str | None = "1",
) -> JSON:
    return {
        "id": role_id,
        "description": description,
        "displayName": name,
        "isBuiltIn": built_in,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "templateId": role_id,
        "version": version,
        "rolePermissions": [{"allowedResourceActions": list(actions), "condition": None}],
        "inheritsPermissionsFrom": [],
    }


def _ids(store: Store, key: str) -> list[str]:
    entity_set = store.sets.get(key)
    return entity_set.ids() if entity_set is not None else []


def populate(store: Store, ctx: Context) -> None:
    """Role definitions, activated roles, assignments, PIM for roles and groups, policies, other providers."""
    plan = ctx.plan
    rbac = _Directory(store)
    users = store.sets["users"].objects if "users" in store.sets else {}
    members = [
        u
        for u in _ids(store, "users")
        if users[u].get("userType") == "Member" and users[u].get("accountEnabled")
    ]
    groups = store.sets["groups"].objects if "groups" in store.sets else {}
    group_ids = _ids(store, "groups")
    assignable = [g for g in group_ids if groups[g].get("isAssignableToRole")]
    security_groups = [
        g
        for g in group_ids
        if groups[g].get("securityEnabled") and "DynamicMembership" not in (groups[g].get("groupTypes") or [])
    ]
    assignable_set = set(assignable)
    sps = _ids(store, "servicePrincipals")
    if not members:
        return

    # Role definitions: every built-in template, plus a few custom roles.
    for template_id, name, description in ROLE_TEMPLATES:
        store.add(ROLE_DEFINITIONS, _built_in(template_id, name, description))
    custom_ids: list[str] = []
    for name, description, actions in CUSTOM_ROLES:
        role_id = ctx.uuid()
        store.add(
            ROLE_DEFINITIONS, _definition(role_id, name, description, actions, built_in=False, version=None)
        )
        custom_ids.append(role_id)

    # Activated directory roles (the well-known ones plus a sample of the rest).
    template_ids = [t[0] for t in ROLE_TEMPLATES]
    others = [t for t in template_ids if t not in WELL_KNOWN]
    activated = [t for t in template_ids if t in WELL_KNOWN] + ctx.sample(
        others, 8 + plan.pim_eligibilities // 50
    )
    by_template = {t[0]: t for t in ROLE_TEMPLATES}
    for template_id in activated:
        _, name, description = by_template[template_id]
        store.add(
            "directoryRoles",
            {
                "id": ctx.uuid(),
                "deletedDateTime": None,
                "description": description,
                "displayName": name,
                "roleTemplateId": template_id,
            },
            directory_object=True,
        )

    # Permanent (active) assignments: users mostly, some role-assignable groups and service principals.
    admins = ctx.sample(members, 2 + plan.users // 5000)
    active: set[tuple[str, str]] = set()  # (principal, role) with an active tenant-wide assignment
    for uid in admins:
        active.add((uid, GLOBAL_ADMIN))
        start = ctx.time(1200, 30)
        rbac.assignment(uid, GLOBAL_ADMIN, "/", created=start, info=_schedule_info(start, None))
    assignable_roles = [r for r in activated + custom_ids if r != GLOBAL_ADMIN]
    for _ in range(max(12, plan.pim_eligibilities // 2)):
        role = ctx.pick(assignable_roles)
        roll = ctx.rng.random()
        if roll < 0.1 and assignable:
            principal = ctx.pick(assignable)
        elif roll < 0.18 and sps:
            principal = ctx.pick(sps)
        else:
            principal = ctx.pick(members)
        if (principal, role) in active:
            continue
        active.add((principal, role))
        start = ctx.time(1200, 1)
        rbac.assignment(principal, role, "/", created=start, info=_schedule_info(start, None))

    # Administrative-unit scoped User Administrators (scopedRoleMemberships + scoped assignments).
    user_admin = rbac.directory_role(USER_ADMIN)
    units = _ids(store, "directory/administrativeUnits")
    for au in ctx.sample(units, 3):
        for uid in ctx.sample(members, 1 + ctx.rng.randrange(2)):
            user = users[uid]
            start = ctx.time(600, 1)
            scope = f"/administrativeUnits/{au}"
            rbac.assignment(uid, USER_ADMIN, scope, created=start, info=_schedule_info(start, None))
            if user_admin is not None:
                store.add(
                    "scopedRoleMemberships",
                    {
                        "id": _packed(user_admin["id"], au, uid),
                        "roleId": user_admin["id"],
                        "administrativeUnitId": au,
                        "roleMemberInfo": {"id": uid, "displayName": user.get("displayName")},
                    },
                )

    # PIM eligibilities (with their instances and originating requests); a few currently activated.
    taken: set[tuple[str, str]] = set()
    pim_roles = [r for r in activated if r != GLOBAL_ADMIN] + custom_ids
    index = -1
    while len(taken) < plan.pim_eligibilities and index < plan.pim_eligibilities * 20:
        index += 1  # draws again on a repeated (principal, role) pair, so the plan's count is met
        role = GLOBAL_ADMIN if index % 25 == 0 else ctx.pick(pim_roles)
        principal = ctx.pick(assignable) if assignable and ctx.chance(0.1) else ctx.pick(members)
        if (principal, role) in taken:
            continue
        taken.add((principal, role))
        created = ctx.time(700, 2)
        end = ctx.future(30, 365) if ctx.chance(0.7) else None
        sid = ctx.uuid()
        info = _schedule_info(created, end)
        rbac.eligibility(sid, principal, role, "/", created=created, info=info)
        store.add(
            ELIGIBILITY_REQUESTS,
            _historic_request(
                admins, ctx, sid, "adminAssign", principal=principal, role=role, info=info, created=created
            ),
        )
        if ctx.chance(0.06) and (principal, role) not in active:
            active.add((principal, role))
            activated_at = ctx.time(0.2, 0)
            request_id = ctx.uuid()
            window = _schedule_info(activated_at, isotime_plus_hours(activated_at, 8))
            rbac.assignment(
                principal,
                role,
                "/",
                created=activated_at,
                info=window,
                kind="Activated",
                schedule_id=request_id,
                created_using=request_id,
            )
            store.add(
                ASSIGNMENT_REQUESTS,
                _historic_request(
                    admins,
                    ctx,
                    request_id,
                    "selfActivate",
                    principal=principal,
                    role=role,
                    info=window,
                    created=activated_at,
                    justification="Investigating an incident",
                ),
            )

    # Role management policies: one per role definition, and two (member, owner) per PIM-enabled group.
    for role_id in _ids(store, ROLE_DEFINITIONS):
        policy_id = f"DirectoryRole_{store.tenant_id}_{ctx.uuid()}"
        _policy(store, policy_id, "/", "DirectoryRole", False)
        store.add(
            POLICY_ASSIGNMENTS,
            {
                "id": f"{policy_id}_{role_id}",
                "policyId": policy_id,
                "scopeId": "/",
                "scopeType": "Directory",
                "roleDefinitionId": role_id,
            },
        )
    pim_groups = ctx.sample(
        # PIM for groups manages neither dynamic groups nor groups synchronized from on-premises
        # (Entra docs, "Bring groups into Privileged Identity Management")
        assignable
        + [
            g
            for g in security_groups
            if g not in assignable_set and not groups[g].get("onPremisesSyncEnabled")
        ],
        max(3, plan.pim_eligibilities // 10),
    )
    for gid in pim_groups:
        for access in ("member", "owner"):
            policy_id = f"Group_{gid}_{ctx.uuid()}"
            _policy(store, policy_id, gid, "Group", True)
            store.add(
                POLICY_ASSIGNMENTS,
                {
                    "id": f"{policy_id}_{access}",
                    "policyId": policy_id,
                    "scopeId": gid,
                    "scopeType": "Group",
                    "roleDefinitionId": access,
                },
            )
        _pim_for_group(store, ctx, gid, members)

    _other_providers(store, ctx, members, sps, security_groups)


def isotime_plus_hours(moment: str, hours: int) -> str:
    value = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=None)
    return (value + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _historic_request(
    admins: list[str],
    ctx: Context,
    request_id: str,
    action: str,
    *,
    principal: str,
    role: str,
    info: JSON,
    created: str,
    justification: str | None = None,
) -> JSON:
    admin = ctx.pick(admins)
    return {
        "id": request_id,
        "status": "Provisioned",
        "createdDateTime": created,
        "completedDateTime": created,
        "approvalId": None,
        "customData": None,
        "action": action,
        "principalId": principal,
        "roleDefinitionId": role,
        "directoryScopeId": "/",
        "appScopeId": None,
        "isValidationOnly": False,
        "targetScheduleId": request_id,
        "justification": justification or "Standing eligibility for the team",
        "createdBy": {
            "application": None,
            "device": None,
            "user": {"displayName": None, "id": principal if action.startswith("self") else admin},
        },
        "scheduleInfo": copy.deepcopy(info),
        "ticketInfo": {"ticketNumber": None, "ticketSystem": None},
    }


def _policy(store: Store, policy_id: str, scope_id: str, scope_type: str, group: bool) -> None:
    name = "Group" if group else "DirectoryRole"
    store.add(
        POLICIES,
        {
            "id": policy_id,
            "displayName": name,
            "description": name,
            "isOrganizationDefault": False,
            "scopeId": scope_id,
            "scopeType": scope_type,
            "lastModifiedDateTime": None,
            "lastModifiedBy": {"displayName": None, "id": None},
        },
    )
    key = f"{POLICIES}/{policy_id}/rules"
    for rule in _rules(group):
        store.add(key, rule)


def _pim_for_group(store: Store, ctx: Context, gid: str, members: list[str]) -> None:
    """PIM for groups: eligible and active memberships/ownerships of one group, with their instances."""
    for uid in ctx.sample(members, 1 + ctx.rng.randrange(4)):
        access = "owner" if ctx.chance(0.2) else "member"
        created = ctx.time(500, 2)
        end = ctx.future(30, 365) if ctx.chance(0.6) else None
        sid = f"{gid}_{access}_{ctx.uuid()}"
        store.add(
            f"{PIM_GROUP}/eligibilitySchedules",
            {
                "id": sid,
                "scheduleInfo": _schedule_info(created, end),
                "createdUsing": sid,
                "createdDateTime": created,
                "modifiedDateTime": None,
                "status": "Provisioned",
                "memberType": "direct",
                "accessId": access,
                "principalId": uid,
                "groupId": gid,
            },
        )
        store.add(
            f"{PIM_GROUP}/eligibilityScheduleInstances",
            {
                "id": f"{sid}_instance",
                "startDateTime": created,
                "endDateTime": end,
                "accessId": access,
                "principalId": uid,
                "groupId": gid,
                "memberType": "direct",
                "eligibilityScheduleId": sid,
            },
        )
    for uid in ctx.sample(members, 1 + ctx.rng.randrange(3)):
        access = "owner" if ctx.chance(0.2) else "member"
        activated = ctx.chance(0.3)
        start = ctx.time(0.2, 0) if activated else ctx.time(500, 2)
        end = isotime_plus_hours(start, 8) if activated else None
        sid = f"{gid}_{access}_{ctx.uuid()}"
        kind = "activated" if activated else "assigned"
        store.add(
            f"{PIM_GROUP}/assignmentSchedules",
            {
                "id": sid,
                "scheduleInfo": _schedule_info(start, end),
                "createdDateTime": start,
                "modifiedDateTime": None,
                "createdUsing": sid if activated else None,
                "status": "Provisioned",
                "accessId": access,
                "principalId": uid,
                "groupId": gid,
                "memberType": "direct",
                "assignmentType": kind,
            },
        )
        store.add(
            f"{PIM_GROUP}/assignmentScheduleInstances",
            {
                "id": f"{sid}_instance",
                "startDateTime": start,
                "endDateTime": end,
                "accessId": access,
                "principalId": uid,
                "groupId": gid,
                "memberType": "direct",
                "assignmentType": kind,
                "assignmentScheduleId": sid,
            },
        )
        # An active PIM membership or ownership is a real one.
        store.link(f"groups/{'owners' if access == 'owner' else 'members'}", gid, uid)


def _other_providers(
    store: Store, ctx: Context, members: list[str], sps: list[str], groups: list[str]
) -> None:
    em_defs = "roleManagement/entitlementManagement/roleDefinitions"
    for role_id, name, description, actions in ENTITLEMENT_ROLES:
        store.add(em_defs, _definition(role_id, name, description, actions, built_in=True))
    creator = ENTITLEMENT_ROLES[-1][0]
    for uid in ctx.sample(members, 3):
        store.add(
            "roleManagement/entitlementManagement/roleAssignments",
            {
                "id": _packed(creator, uid) + "-1",
                "principalId": uid,
                "roleDefinitionId": creator,
                "directoryScopeId": "/",
                "appScopeId": "/",
                "condition": None,
                "principalOrganizationId": store.tenant_id,
            },
        )
    intune: list[str] = []
    intune_names: dict[str, str] = {}
    for name, description, actions in INTUNE_ROLES:
        role_id = ctx.uuid()
        intune.append(role_id)
        intune_names[role_id] = name
        store.add(
            "roleManagement/deviceManagement/roleDefinitions",
            _definition(role_id, name, description, actions, built_in=True),
        )
    for role_id in ctx.sample(intune, 3):
        principals = ctx.sample(groups, 2) if groups else ctx.sample(members, 2)
        store.add(
            "roleManagement/deviceManagement/roleAssignments",
            {
                "id": ctx.uuid(),
                "displayName": f"{intune_names[role_id]} assignment",
                "description": None,
                "roleDefinitionId": role_id,
                "principalIds": principals,
                "directoryScopeIds": ["/"],
                "appScopeIds": [],
                "condition": None,
            },
        )
    exchange: list[str] = []
    for name, description, actions in EXCHANGE_ROLES:
        role_id = ctx.uuid()
        exchange.append(role_id)
        store.add(
            "roleManagement/exchange/roleDefinitions",
            _definition(role_id, name, description, actions, built_in=True),
        )
    for role_id in exchange[:3]:
        principal = ctx.pick(sps) if sps else ctx.pick(members)
        store.add(
            "roleManagement/exchange/roleAssignments",
            {
                "id": ctx.uuid(),
                "principalId": principal,
                "roleDefinitionId": role_id,
                "directoryScopeId": "/",
                "appScopeId": None,
                "condition": None,
                "principalOrganizationId": store.tenant_id,
            },
        )
