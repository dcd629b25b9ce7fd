"""Every Entra resource type entrasnap captures, in collection order (a parent before its scoped types).

Paths, API versions and least-privileged application permissions follow Microsoft's Graph API
reference. ``api="beta"`` only where v1.0 drops data (Conditional Access policies) or the type exists
only in beta. ``page_size`` is 999 for directory-object collections (Graph allows 1-999) and None
(no ``$top``; the collector follows ``@odata.nextLink``) where a maximum is not documented or lower.

Cloud-only reads (``cloud_only_filter``): Graph supports ``onPremisesSyncEnabled ne true`` only as an
advanced query, so a collector applying the filter must also send ``ConsistencyLevel: eventual`` and
``$count=true`` (on every page). ``consistency_eventual`` says whether a type needs that header without
the filter; a collector should send it when ``consistency_eventual or cloud_only`` is in effect.

Types fakegraph serves that are deliberately not captured:

- ``/users/{id}/manager``: one request per user (200,000 at L size); a later option may add it.
- ``/users|groups/{id}/appRoleAssignments`` and ``/servicePrincipals/{id}/appRoleAssignments``: every
  app role assignment is captured once, as ``appRoleAssignedTo`` of the resource service principal.
- ``/servicePrincipals/{id}/oauth2PermissionGrants``: the same grants as ``oauth2PermissionGrants``.
- ``/directoryRoles/{id}/scopedMembers``: the same objects as administrative units' scopedRoleMembers.
- PIM ``*ScheduleInstances`` and ``*ScheduleRequests``: instances are derived from the schedules;
  requests are an ever-growing history, not configuration.
- ``/identity/conditionalAccess/authenticationStrength/policies``: an alias of
  ``/policies/authenticationStrengthPolicies``.
- ``/settings`` (beta), ``/directorySettingTemplates`` (beta): the v1.0 ``/groupSettings`` and
  ``/groupSettingTemplates`` hold the same objects.
- ``/directory/recovery/snapshots``: Microsoft's own backups, not configuration.
- ``/policies/authenticationMethodsPolicy/authenticationMethodConfigurations``: returned inside
  ``authenticationMethodsPolicy``.
- ``/policies/crossTenantAccessPolicy/partners/{id}/identitySynchronization``: a singleton per partner
  that answers 404 when not configured; not expressible as a child collection yet.
- ``/organization/{id}/branding``: a singleton per organization; its default locale ("0") is part of
  the ``brandingLocalizations`` child.
- ``catalogs/{id}/accessPackages``, ``accessPackages/{id}/assignmentPolicies``: views of the top-level
  access packages and assignment policies.
"""

from __future__ import annotations

from entrasnap.catalog.model import Child, Inverse, ParentScope, ResourceType, Through, Without
from entrasnap.catalog.schema_select import DEVICE_SELECT, GROUP_SELECT, USER_SELECT

CLOUD_ONLY = "onPremisesSyncEnabled ne true"
DIRECTORY_READ_ONLY = ("id", "createdDateTime", "deletedDateTime")
POLICY_READ_ONLY = ("id", "deletedDateTime")
APP_POLICY_READ_ONLY = ("id", "deletedDateTime")
APP_POLICY_REFS = (
    "tokenIssuancePolicies",
    "tokenLifetimePolicies",
)


def _ref(name: str, path: str, permission: str = "", *, delta: bool = False, expand: bool = False) -> Child:
    return Child(name, path, "refs", permission, delta=delta, expand=expand)


def _policy_link(owner: str, name: str) -> Child:
    """An app's or service principal's links to policies of one kind, read from the policies' side.

    ``GET /policies/{name}/{id}/appliesTo`` lists the applications and service principals a policy
    applies to (v1.0: stsPolicy.appliesTo for token issuance, token lifetime, claims mapping and home
    realm discovery policies, appManagementPolicy.appliesTo; Policy.Read.All and Application.Read.All),
    so each kind costs a list and one request per policy instead of one per app or SP.
    """
    return Child(
        name, f"/{owner}/{{id}}/{name}", "refs", "Policy.Read.All", inverse=Inverse(f"/policies/{name}")
    )


def _objects(name: str, path: str, permission: str = "", api: str = "v1.0") -> Child:
    return Child(name, path, "objects", permission, api)


def _policy_set(key: str, title: str, path: str, order: int = 30) -> ResourceType:
    """An application-configuration policy collection (token lifetime, claims mapping...)."""
    return ResourceType(
        key,
        title,
        "policies",
        path,
        "Policy.Read.All",
        page_size=None,
        read_only=APP_POLICY_READ_ONLY,
        create="POST",
        update="PATCH",
        restore_order=order,
    )


def _singleton(
    key: str,
    title: str,
    group: str,
    path: str,
    permission: str,
    *,
    api: str = "v1.0",
    update: str = "PATCH",
    noise: tuple[str, ...] = (),
    read_only: tuple[str, ...] = ("id",),
) -> ResourceType:
    return ResourceType(
        key,
        title,
        group,
        path,
        permission,
        api=api,
        singleton=True,
        page_size=None,
        update=update,
        noise=noise,
        read_only=read_only,
        name_field="displayName",
    )


CONFIG: tuple[ResourceType, ...] = (
    ResourceType(
        "organization",
        "Organization",
        "config",
        "/organization",
        "Organization.Read.All",
        page_size=None,
        children=(
            _objects(
                "brandingLocalizations",
                "/organization/{id}/branding/localizations",
                "OrganizationalBranding.Read.All",
            ),
            _objects(
                "certificateBasedAuthConfiguration", "/organization/{id}/certificateBasedAuthConfiguration"
            ),
        ),
        noise=("onPremisesLastSyncDateTime", "onPremisesLastPasswordSyncDateTime"),
        read_only=(
            *DIRECTORY_READ_ONLY,
            "verifiedDomains",
            "assignedPlans",
            "provisionedPlans",
            "tenantType",
        ),
        update="PATCH",
        restore_order=1,
    ),
    ResourceType(
        "domains",
        "Domains",
        "config",
        "/domains",
        "Domain.Read.All",
        page_size=None,
        name_field="id",
        read_only=("id", "isRoot", "isVerified", "isInitial", "isAdminManaged"),
        update="PATCH",
        restore_order=2,
    ),
    ResourceType(
        "subscribedSkus",
        "Subscribed SKUs (licences)",
        "config",
        "/subscribedSkus",
        "Organization.Read.All",
        page_size=None,
        name_field="skuPartNumber",
        noise=("consumedUnits",),
        read_only=("id", "skuId", "skuPartNumber", "appliesTo", "capabilityStatus", "servicePlans"),
    ),
    ResourceType(
        "onPremisesSynchronization",
        "On-premises directory synchronization",
        "config",
        "/directory/onPremisesSynchronization",
        "OnPremDirectorySynchronization.Read.All",
        page_size=None,
        name_field="id",
        update="PATCH",
        read_only=("id",),
    ),
    ResourceType(
        "groupSettingTemplates",
        "Directory setting templates",
        "config",
        "/groupSettingTemplates",
        "GroupSettings.Read.All",
        page_size=None,
        read_only=("id", "deletedDateTime", "displayName", "description", "values"),
    ),
    ResourceType(
        "groupSettings",
        "Directory settings (tenant-wide)",
        "config",
        "/groupSettings",
        "GroupSettings.Read.All",
        page_size=None,
        read_only=("id", "displayName"),
        create="POST",
        update="PATCH",
        restore_order=5,
        references=("groupSettingTemplates",),
    ),
    ResourceType(
        "attributeSets",
        "Custom security attribute sets",
        "config",
        "/directory/attributeSets",
        "CustomSecAttributeDefinition.Read.All",
        page_size=None,
        name_field="id",
        read_only=("id",),
        create="POST",
        update="PATCH",
        restore_order=3,
    ),
    ResourceType(
        "customSecurityAttributeDefinitions",
        "Custom security attribute definitions",
        "config",
        "/directory/customSecurityAttributeDefinitions",
        "CustomSecAttributeDefinition.Read.All",
        page_size=None,
        name_field="name",
        children=(
            _objects("allowedValues", "/directory/customSecurityAttributeDefinitions/{id}/allowedValues"),
        ),
        read_only=("id", "attributeSet", "name", "type", "isCollection", "isSearchable"),
        create="POST",
        update="PATCH",
        restore_order=4,
        references=("attributeSets",),
    ),
)

USERS: tuple[ResourceType, ...] = (
    ResourceType(
        "users",
        "Users",
        "users",
        "/users",
        "User.Read.All",
        delta=True,
        select=USER_SELECT,
        cloud_only_filter=CLOUD_ONLY,
        noise=(
            "onPremisesLastSyncDateTime",
            "assignedPlans",
            "provisionedPlans",
            "licenseAssignmentStates",
            "signInActivity",
        ),
        read_only=(
            *DIRECTORY_READ_ONLY,
            "creationType",
            "externalUserStateChangeDateTime",
            "lastPasswordChangeDateTime",
            "onPremisesDistinguishedName",
            "onPremisesDomainName",
            "onPremisesLastSyncDateTime",
            "onPremisesProvisioningErrors",
            "onPremisesSamAccountName",
            "onPremisesSecurityIdentifier",
            "onPremisesSyncEnabled",
            "onPremisesUserPrincipalName",
            "proxyAddresses",
            "assignedPlans",
            "provisionedPlans",
            "licenseAssignmentStates",
            "securityIdentifier",
            "serviceProvisioningErrors",
            "signInSessionsValidFromDateTime",
            "isManagementRestricted",
            "identityParentId",
        ),
        create="POST",
        update="PATCH",
        restore_order=10,
    ),
)

GROUPS: tuple[ResourceType, ...] = (
    ResourceType(
        "groups",
        "Groups",
        "groups",
        "/groups",
        "GroupMember.Read.All",
        delta=True,
        select=GROUP_SELECT,
        cloud_only_filter=CLOUD_ONLY,
        children=(
            # $expand=members($select=id),owners($select=id) on the list pages (documented: group members and
            # owners support $expand with a nested $select); at most 20 expanded objects each, so a list
            # that reaches 20 is read per group. A full read takes the members from the initial round of
            # /groups/delta instead ("members@delta", https://learn.microsoft.com/graph/api/group-delta),
            # whole however many they are, and expands them only if that round fails
            Child("members", "/groups/{id}/members", delta=True, expand=True, from_delta=True),
            _ref("owners", "/groups/{id}/owners", expand=True),
            # "Group-specific settings apply to only Microsoft 365 groups"
            # (https://learn.microsoft.com/graph/api/resources/groupsetting); the one exception,
            # Group.Security.Policies, is "for a specific cloud security group"
            # (https://learn.microsoft.com/graph/api/group-post-settings): a group synchronized from
            # on-premises that is not a Microsoft 365 group has none, and is not asked
            Child(
                "settings",
                "/groups/{id}/settings",
                "objects",
                "GroupSettings.Read.All",
                without=Without((("onPremisesSyncEnabled", True),), unless=(("groupTypes", "Unified"),)),
            ),
        ),
        noise=(
            "onPremisesLastSyncDateTime",
            "renewedDateTime",
            "expirationDateTime",
            "licenseProcessingState",
        ),
        read_only=(
            *DIRECTORY_READ_ONLY,
            "mail",
            "proxyAddresses",
            "renewedDateTime",
            "expirationDateTime",
            "onPremisesDomainName",
            "onPremisesLastSyncDateTime",
            "onPremisesNetBiosName",
            "onPremisesProvisioningErrors",
            "onPremisesSamAccountName",
            "onPremisesSecurityIdentifier",
            "onPremisesSyncEnabled",
            "securityIdentifier",
            "serviceProvisioningErrors",
            "licenseProcessingState",
            "assignedLicenses",
            "isManagementRestricted",
            "organizationId",
        ),
        create="POST",
        update="PATCH",
        restore_order=20,
        references=("users", "devices", "servicePrincipals", "groups"),
    ),
)

DEVICES: tuple[ResourceType, ...] = (
    ResourceType(
        "devices",
        "Devices",
        "devices",
        "/devices",
        "Device.Read.All",
        delta=True,
        select=DEVICE_SELECT,
        children=(
            _ref("registeredOwners", "/devices/{id}/registeredOwners", expand=True),
            _ref("registeredUsers", "/devices/{id}/registeredUsers", expand=True),
        ),
        noise=("approximateLastSignInDateTime", "onPremisesLastSyncDateTime", "complianceExpirationDateTime"),
        read_only=(
            "id",
            "deletedDateTime",
            "deviceId",
            "registrationDateTime",
            "approximateLastSignInDateTime",
            "onPremisesLastSyncDateTime",
            "onPremisesSecurityIdentifier",
            "onPremisesSyncEnabled",
            "trustType",
            "isManaged",
            "isCompliant",
            "isRooted",
            "managementType",
            "mdmAppId",
        ),
        update="PATCH",
        restore_order=25,
        references=("users",),
    ),
)

APPLICATIONS: tuple[ResourceType, ...] = (
    ResourceType(
        "applications",
        "App registrations",
        "applications",
        "/applications",
        "Application.Read.All",
        delta=True,
        children=(
            _ref("owners", "/applications/{id}/owners", expand=True),
            # application: extensionProperties and federatedIdentityCredentials "Support $expand"
            Child("extensionProperties", "/applications/{id}/extensionProperties", "objects", expand=True),
            Child(
                "federatedIdentityCredentials",
                "/applications/{id}/federatedIdentityCredentials",
                "objects",
                expand=True,
            ),
            _policy_link("applications", "tokenIssuancePolicies"),
            _policy_link("applications", "tokenLifetimePolicies"),
            _policy_link("applications", "appManagementPolicies"),
        ),
        read_only=(*DIRECTORY_READ_ONLY, "appId", "publisherDomain", "uniqueName"),
        create="POST",
        update="PATCH",
        restore_order=40,
        references=("users", "servicePrincipals", *APP_POLICY_REFS, "appManagementPolicies"),
    ),
    ResourceType(
        "servicePrincipals",
        "Enterprise applications (service principals)",
        "applications",
        "/servicePrincipals",
        "Application.Read.All",
        delta=True,
        children=(
            _ref("owners", "/servicePrincipals/{id}/owners", expand=True),
            # servicePrincipal: appRoleAssignedTo "Supports $expand"
            Child("appRoleAssignedTo", "/servicePrincipals/{id}/appRoleAssignedTo", "objects", expand=True),
            # a classification's permissionId is "the id of the delegated permission listed in the
            # oauth2PermissionScopes collection of the servicePrincipal" (delegatedPermissionClassification):
            # read only for service principals that publish scopes
            Child(
                "delegatedPermissionClassifications",
                "/servicePrincipals/{id}/delegatedPermissionClassifications",
                "objects",
                only="oauth2PermissionScopes",
            ),
            _policy_link("servicePrincipals", "claimsMappingPolicies"),
            _policy_link("servicePrincipals", "homeRealmDiscoveryPolicies"),
            _policy_link("servicePrincipals", "tokenIssuancePolicies"),
            _policy_link("servicePrincipals", "tokenLifetimePolicies"),
        ),
        read_only=(
            *DIRECTORY_READ_ONLY,
            "appId",
            "appDisplayName",
            "appOwnerOrganizationId",
            "applicationTemplateId",
            "servicePrincipalType",
            "signInAudience",
        ),
        create="POST",
        update="PATCH",
        restore_order=50,
        references=(
            "applications",
            "users",
            "groups",
            "servicePrincipals",
            "claimsMappingPolicies",
            "homeRealmDiscoveryPolicies",
            *APP_POLICY_REFS,
        ),
    ),
    ResourceType(
        "oauth2PermissionGrants",
        "Delegated permission grants",
        "applications",
        "/oauth2PermissionGrants",
        "Directory.Read.All",
        delta=True,
        name_field="scope",
        read_only=("id",),
        create="POST",
        update="PATCH",
        restore_order=60,
        references=("servicePrincipals", "users"),
    ),
)

ROLES: tuple[ResourceType, ...] = (
    ResourceType(
        "directoryRoleTemplates",
        "Directory role templates",
        "roles",
        "/directoryRoleTemplates",
        "RoleManagement.Read.Directory",
        page_size=None,
        read_only=("id", "deletedDateTime", "displayName", "description"),
    ),
    ResourceType(
        "directoryRoles",
        "Activated directory roles",
        "roles",
        "/directoryRoles",
        "RoleManagement.Read.Directory",
        delta=True,
        page_size=None,
        children=(_ref("members", "/directoryRoles/{id}/members", delta=True),),
        read_only=("id", "deletedDateTime", "displayName", "description"),
        create="POST",
        restore_order=65,
        references=("directoryRoleTemplates", "users", "groups", "servicePrincipals"),
    ),
    ResourceType(
        "roleDefinitions",
        "Entra role definitions",
        "roles",
        "/roleManagement/directory/roleDefinitions",
        "RoleManagement.Read.Directory",
        page_size=None,
        read_only=("id", "isBuiltIn", "templateId"),
        create="POST",
        update="PATCH",
        restore_order=62,
    ),
    ResourceType(
        "roleAssignments",
        "Entra role assignments (active)",
        "roles",
        "/roleManagement/directory/roleAssignments",
        "RoleManagement.Read.Directory",
        page_size=None,
        name_field="roleDefinitionId",
        read_only=("id",),
        create="POST",
        restore_order=70,
        references=("roleDefinitions", "users", "groups", "servicePrincipals", "administrativeUnits"),
    ),
    ResourceType(
        "administrativeUnits",
        "Administrative units",
        "roles",
        "/directory/administrativeUnits",
        "AdministrativeUnit.Read.All",
        delta=True,
        children=(
            _ref("members", "/directory/administrativeUnits/{id}/members", delta=True),
            _objects("scopedRoleMembers", "/directory/administrativeUnits/{id}/scopedRoleMembers"),
        ),
        read_only=("id", "deletedDateTime"),
        create="POST",
        update="PATCH",
        restore_order=30,
        references=("users", "groups", "devices", "directoryRoles"),
    ),
    ResourceType(
        "entitlementManagementRoleDefinitions",
        "Entitlement management role definitions",
        "roles",
        "/roleManagement/entitlementManagement/roleDefinitions",
        "EntitlementManagement.Read.All",
        page_size=None,
        read_only=("id", "isBuiltIn", "templateId"),
    ),
    ResourceType(
        "entitlementManagementRoleAssignments",
        "Entitlement management role assignments",
        "roles",
        "/roleManagement/entitlementManagement/roleAssignments",
        "EntitlementManagement.Read.All",
        page_size=None,
        name_field="roleDefinitionId",
        read_only=("id",),
        references=("entitlementManagementRoleDefinitions", "users", "groups", "servicePrincipals"),
    ),
    ResourceType(
        "deviceManagementRoleDefinitions",
        "Intune role definitions",
        "roles",
        "/roleManagement/deviceManagement/roleDefinitions",
        "DeviceManagementRBAC.Read.All",
        api="beta",
        page_size=None,
        read_only=("id", "isBuiltIn", "templateId"),
    ),
    ResourceType(
        "deviceManagementRoleAssignments",
        "Intune role assignments",
        "roles",
        "/roleManagement/deviceManagement/roleAssignments",
        "DeviceManagementRBAC.Read.All",
        api="beta",
        page_size=None,
        name_field="roleDefinitionId",
        read_only=("id",),
        references=("deviceManagementRoleDefinitions", "users", "groups"),
    ),
    ResourceType(
        "exchangeRoleDefinitions",
        "Exchange Online role definitions",
        "roles",
        "/roleManagement/exchange/roleDefinitions",
        "RoleManagement.Read.Exchange",
        api="beta",
        page_size=None,
        read_only=("id", "isBuiltIn", "templateId"),
    ),
    ResourceType(
        "exchangeRoleAssignments",
        "Exchange Online role assignments",
        "roles",
        "/roleManagement/exchange/roleAssignments",
        "RoleManagement.Read.Exchange",
        api="beta",
        page_size=None,
        name_field="roleDefinitionId",
        read_only=("id",),
        references=("exchangeRoleDefinitions", "users", "groups"),
    ),
)

# with the policies: "$expand=rules" on the policy list (examples of
# https://learn.microsoft.com/graph/api/policyroot-list-rolemanagementpolicies); 17 rules a policy
_RULES = Child("rules", "/policies/roleManagementPolicies/{id}/rules", "objects", expand=True)
_GROUP_SCOPE = "scopeId eq '{id}' and scopeType eq 'Group'"
# "Dynamic groups and groups synchronized from on-premises environment cannot be managed in PIM for Groups"
# (Entra docs, Bring groups into Privileged Identity Management): not queried.
_NOT_IN_PIM = (("groupTypes", "DynamicMembership"), ("onPremisesSyncEnabled", True))

PIM: tuple[ResourceType, ...] = (
    ResourceType(
        "roleEligibilitySchedules",
        "PIM for Entra roles: eligibility schedules",
        "pim",
        "/roleManagement/directory/roleEligibilitySchedules",
        "RoleEligibilitySchedule.Read.Directory",
        page_size=None,
        name_field="roleDefinitionId",
        license="P2",
        read_only=("id", "createdDateTime", "modifiedDateTime", "createdUsing", "status"),
        references=("roleDefinitions", "users", "groups", "servicePrincipals", "administrativeUnits"),
    ),
    ResourceType(
        "roleAssignmentSchedules",
        "PIM for Entra roles: assignment schedules",
        "pim",
        "/roleManagement/directory/roleAssignmentSchedules",
        "RoleAssignmentSchedule.Read.Directory",
        page_size=None,
        name_field="roleDefinitionId",
        license="P2",
        read_only=("id", "createdDateTime", "modifiedDateTime", "createdUsing", "status"),
        references=("roleDefinitions", "users", "groups", "servicePrincipals", "administrativeUnits"),
    ),
    ResourceType(
        "roleManagementPolicies",
        "PIM for Entra roles: role settings (policies)",
        "pim",
        "/policies/roleManagementPolicies",
        "RoleManagementPolicy.Read.Directory",
        page_size=None,
        filter="scopeId eq '/' and scopeType eq 'DirectoryRole'",
        children=(_RULES,),
        license="P2",
        noise=("lastModifiedDateTime", "lastModifiedBy"),
        read_only=(
            "id",
            "lastModifiedDateTime",
            "lastModifiedBy",
            "isOrganizationDefault",
            "scopeId",
            "scopeType",
        ),
        update="PATCH",
        restore_order=80,
    ),
    ResourceType(
        "roleManagementPolicyAssignments",
        "PIM for Entra roles: role settings assignments",
        "pim",
        "/policies/roleManagementPolicyAssignments",
        "RoleManagementPolicy.Read.Directory",
        page_size=None,
        filter="scopeId eq '/' and scopeType eq 'Directory'",
        name_field="roleDefinitionId",
        license="P2",
        read_only=("id",),
        references=("roleManagementPolicies", "roleDefinitions"),
    ),
    ResourceType(
        "groupEligibilitySchedules",
        "PIM for groups: eligibility schedules",
        "pim",
        "/identityGovernance/privilegedAccess/group/eligibilitySchedules",
        "PrivilegedEligibilitySchedule.Read.AzureADGroup",
        page_size=None,
        parent=ParentScope("groups", "groupId eq '{id}'", unless=_NOT_IN_PIM),
        name_field="accessId",
        license="P2",
        read_only=("id", "createdDateTime", "modifiedDateTime", "createdUsing", "status"),
        references=("groups", "users"),
    ),
    ResourceType(
        "groupAssignmentSchedules",
        "PIM for groups: assignment schedules",
        "pim",
        "/identityGovernance/privilegedAccess/group/assignmentSchedules",
        "PrivilegedAssignmentSchedule.Read.AzureADGroup",
        page_size=None,
        parent=ParentScope("groups", "groupId eq '{id}'", unless=_NOT_IN_PIM),
        name_field="accessId",
        license="P2",
        read_only=("id", "createdDateTime", "modifiedDateTime", "createdUsing", "status"),
        references=("groups", "users"),
    ),
    ResourceType(
        "groupRoleManagementPolicies",
        "PIM for groups: role settings (policies)",
        "pim",
        "/policies/roleManagementPolicies",
        "RoleManagementPolicy.Read.AzureADGroup",
        page_size=None,
        parent=ParentScope("groups", _GROUP_SCOPE, unless=_NOT_IN_PIM),
        # each group's policies (member, owner) come with its policy assignments: the assignment's `policy`
        # "Supports $expand and a nested $expand of the rules and effectiveRules relationships for the
        # policy" (https://learn.microsoft.com/graph/api/resources/unifiedrolemanagementpolicyassignment)
        through=Through("groupRoleManagementPolicyAssignments", "policy"),
        children=(_RULES,),
        license="P2",
        noise=("lastModifiedDateTime", "lastModifiedBy"),
        read_only=(
            "id",
            "lastModifiedDateTime",
            "lastModifiedBy",
            "isOrganizationDefault",
            "scopeId",
            "scopeType",
        ),
        update="PATCH",
        restore_order=82,
        references=("groups",),
    ),
    ResourceType(
        "groupRoleManagementPolicyAssignments",
        "PIM for groups: role settings assignments",
        "pim",
        "/policies/roleManagementPolicyAssignments",
        "RoleManagementPolicy.Read.AzureADGroup",
        page_size=None,
        parent=ParentScope("groups", _GROUP_SCOPE, unless=_NOT_IN_PIM),
        # every property (Graph's default set): $select makes the request that also expands the policies
        # cost 1 resource unit instead of 2
        select=("id", "policyId", "roleDefinitionId", "scopeId", "scopeType"),
        name_field="roleDefinitionId",
        license="P2",
        read_only=("id",),
        references=("groupRoleManagementPolicies", "groups"),
    ),
)

_CA_READ_ONLY = ("id", "createdDateTime", "modifiedDateTime", "deletedDateTime")

CONDITIONAL_ACCESS: tuple[ResourceType, ...] = (
    ResourceType(
        "namedLocations",
        "Named locations",
        "conditional-access",
        "/identity/conditionalAccess/namedLocations",
        "Policy.Read.All",
        page_size=None,
        license="P1",
        paced=True,
        noise=("modifiedDateTime",),
        read_only=_CA_READ_ONLY,
        create="POST",
        update="PATCH",
        restore_order=11,
    ),
    ResourceType(
        "authenticationContextClassReferences",
        "Authentication contexts",
        "conditional-access",
        "/identity/conditionalAccess/authenticationContextClassReferences",
        "AuthenticationContext.Read.All",
        page_size=None,
        license="P1",
        paced=True,
        read_only=("id",),
        update="PATCH",  # PATCH /{id} creates or updates (ids c1..c99)
        restore_order=12,
    ),
    ResourceType(
        "authenticationStrengthPolicies",
        "Authentication strengths",
        "conditional-access",
        "/policies/authenticationStrengthPolicies",
        "Policy.Read.AuthenticationMethod",
        page_size=None,
        children=(
            _objects(
                "combinationConfigurations",
                "/policies/authenticationStrengthPolicies/{id}/combinationConfigurations",
            ),
        ),
        license="P1",
        noise=("modifiedDateTime",),
        read_only=("id", "createdDateTime", "modifiedDateTime", "policyType", "requirementsSatisfied"),
        create="POST",
        update="PATCH",
        restore_order=13,
    ),
    ResourceType(
        "conditionalAccessPolicies",
        "Conditional Access policies",
        "conditional-access",
        "/identity/conditionalAccess/policies",
        "Policy.Read.All",
        api="beta",
        page_size=None,
        license="P1",
        paced=True,
        noise=("modifiedDateTime",),
        read_only=(*_CA_READ_ONLY, "templateId"),
        create="POST",
        update="PATCH",
        restore_order=90,
        references=(
            "users",
            "groups",
            "directoryRoleTemplates",
            "roleDefinitions",
            "namedLocations",
            "applications",
            "servicePrincipals",
            "authenticationStrengthPolicies",
            "authenticationContextClassReferences",
            "termsOfUseAgreements",
        ),
        description="Read from beta: v1.0 omits properties such as session controls added in beta.",
    ),
    ResourceType(
        "deletedConditionalAccessPolicies",
        "Deleted Conditional Access policies",
        "conditional-access",
        "/identity/conditionalAccess/deletedItems/policies",
        "Policy.Read.All",
        api="beta",
        page_size=None,
        license="P1",
        paced=True,
        read_only=(*_CA_READ_ONLY, "templateId"),
        references=("conditionalAccessPolicies",),
    ),
    ResourceType(
        "deletedNamedLocations",
        "Deleted named locations",
        "conditional-access",
        "/identity/conditionalAccess/deletedItems/namedLocations",
        "Policy.Read.All",
        api="beta",
        page_size=None,
        license="P1",
        paced=True,
        read_only=_CA_READ_ONLY,
        references=("namedLocations",),
    ),
)

POLICIES: tuple[ResourceType, ...] = (
    _singleton(
        "authenticationMethodsPolicy",
        "Authentication methods policy",
        "policies",
        "/policies/authenticationMethodsPolicy",
        "Policy.Read.AuthenticationMethod",
        noise=("lastModifiedDateTime",),
        read_only=("id", "lastModifiedDateTime", "policyVersion"),
    ),
    _singleton(
        "authorizationPolicy",
        "Authorization policy",
        "policies",
        "/policies/authorizationPolicy",
        "Policy.Read.All",
    ),
    _singleton(
        "securityDefaults",
        "Security defaults",
        "policies",
        "/policies/identitySecurityDefaultsEnforcementPolicy",
        "Policy.Read.All",
    ),
    _singleton(
        "adminConsentRequestPolicy",
        "Admin consent request policy",
        "policies",
        "/policies/adminConsentRequestPolicy",
        "Policy.Read.All",
        update="PUT",
        read_only=("id", "version"),
    ),
    _singleton(
        "defaultAppManagementPolicy",
        "Default app management policy",
        "policies",
        "/policies/defaultAppManagementPolicy",
        "Policy.Read.All",
    ),
    _singleton(
        "deviceRegistrationPolicy",
        "Device registration policy",
        "policies",
        "/policies/deviceRegistrationPolicy",
        "Policy.Read.DeviceConfiguration",
        update="PUT",
    ),
    ResourceType(
        "permissionGrantPolicies",
        "Permission grant (consent) policies",
        "policies",
        "/policies/permissionGrantPolicies",
        "Policy.Read.PermissionGrant",
        page_size=None,
        children=(
            _objects("includes", "/policies/permissionGrantPolicies/{id}/includes"),
            _objects("excludes", "/policies/permissionGrantPolicies/{id}/excludes"),
        ),
        read_only=("id", "deletedDateTime"),
        create="POST",
        update="PATCH",
        restore_order=30,
    ),
    _policy_set(
        "activityBasedTimeoutPolicies",
        "Activity-based timeout policies",
        "/policies/activityBasedTimeoutPolicies",
    ),
    _policy_set(
        "homeRealmDiscoveryPolicies", "Home realm discovery policies", "/policies/homeRealmDiscoveryPolicies"
    ),
    _policy_set("claimsMappingPolicies", "Claims mapping policies", "/policies/claimsMappingPolicies"),
    _policy_set("tokenIssuancePolicies", "Token issuance policies", "/policies/tokenIssuancePolicies"),
    _policy_set("tokenLifetimePolicies", "Token lifetime policies", "/policies/tokenLifetimePolicies"),
    _policy_set("appManagementPolicies", "App management policies", "/policies/appManagementPolicies"),
    ResourceType(
        "featureRolloutPolicies",
        "Staged rollout (feature rollout) policies",
        "policies",
        "/policies/featureRolloutPolicies",
        "Policy.Read.All",
        page_size=None,
        children=(_ref("appliesTo", "/policies/featureRolloutPolicies/{id}/appliesTo"),),
        read_only=("id",),
        create="POST",
        update="PATCH",
        restore_order=35,
        references=("groups",),
    ),
)

EXTERNAL_IDENTITIES: tuple[ResourceType, ...] = (
    _singleton(
        "crossTenantAccessPolicy",
        "Cross-tenant access policy",
        "external-identities",
        "/policies/crossTenantAccessPolicy",
        "Policy.Read.All",
    ),
    _singleton(
        "crossTenantAccessPolicyDefault",
        "Cross-tenant access defaults",
        "external-identities",
        "/policies/crossTenantAccessPolicy/default",
        "Policy.Read.All",
        read_only=("id", "isServiceDefault"),
    ),
    ResourceType(
        "crossTenantAccessPolicyPartners",
        "Cross-tenant access partner settings",
        "external-identities",
        "/policies/crossTenantAccessPolicy/partners",
        "Policy.Read.All",
        page_size=None,
        id_field="tenantId",
        name_field="tenantId",
        read_only=("tenantId", "isServiceProvider", "isInMultiTenantOrganization"),
        create="POST",
        update="PATCH",
        restore_order=36,
    ),
    _singleton(
        "externalIdentitiesPolicy",
        "External identities policy",
        "external-identities",
        "/policies/externalIdentitiesPolicy",
        "Policy.Read.All",
        api="beta",
    ),
    _singleton(
        "authenticationFlowsPolicy",
        "Authentication flows policy (self-service sign-up)",
        "external-identities",
        "/policies/authenticationFlowsPolicy",
        "Policy.Read.All",
    ),
    ResourceType(
        "identityProviders",
        "Identity providers",
        "external-identities",
        "/identity/identityProviders",
        "IdentityProvider.Read.All",
        page_size=None,
        read_only=("id",),
        create="POST",
        update="PATCH",
        restore_order=37,
    ),
    ResourceType(
        "apiConnectors",
        "API connectors",
        "external-identities",
        "/identity/apiConnectors",
        "APIConnectors.Read.All",
        page_size=None,
        read_only=("id",),
        create="POST",
        update="PATCH",
        restore_order=37,
    ),
    ResourceType(
        "userFlowAttributes",
        "User flow attributes",
        "external-identities",
        "/identity/userFlowAttributes",
        "IdentityUserFlow.Read.All",
        page_size=None,
        read_only=("id", "userFlowAttributeType"),
        create="POST",
        update="PATCH",
        restore_order=37,
    ),
    ResourceType(
        "b2xUserFlows",
        "Self-service sign-up user flows",
        "external-identities",
        "/identity/b2xUserFlows",
        "IdentityUserFlow.Read.All",
        page_size=None,
        name_field="id",
        children=(
            _ref("userFlowIdentityProviders", "/identity/b2xUserFlows/{id}/userFlowIdentityProviders"),
            _objects("languages", "/identity/b2xUserFlows/{id}/languages"),
            _objects("userAttributeAssignments", "/identity/b2xUserFlows/{id}/userAttributeAssignments"),
        ),
        read_only=("id", "userFlowType", "userFlowTypeVersion"),
        create="POST",
        update="PATCH",
        restore_order=38,
        references=("identityProviders", "userFlowAttributes", "apiConnectors"),
    ),
    ResourceType(
        "customAuthenticationExtensions",
        "Custom authentication extensions",
        "external-identities",
        "/identity/customAuthenticationExtensions",
        "CustomAuthenticationExtension.Read.All",
        page_size=None,
        read_only=("id",),
        create="POST",
        update="PATCH",
        restore_order=37,
    ),
)

GOVERNANCE: tuple[ResourceType, ...] = (
    ResourceType(
        "accessPackageCatalogs",
        "Entitlement management catalogs",
        "governance",
        "/identityGovernance/entitlementManagement/catalogs",
        "EntitlementManagement.Read.All",
        page_size=None,
        license="P2",
        noise=("modifiedDateTime",),
        read_only=("id", "createdDateTime", "modifiedDateTime"),
        create="POST",
        update="PATCH",
        restore_order=100,
    ),
    ResourceType(
        "connectedOrganizations",
        "Entitlement management connected organizations",
        "governance",
        "/identityGovernance/entitlementManagement/connectedOrganizations",
        "EntitlementManagement.Read.All",
        page_size=None,
        children=(
            _ref(
                "internalSponsors",
                "/identityGovernance/entitlementManagement/connectedOrganizations/{id}/internalSponsors",
            ),
            _ref(
                "externalSponsors",
                "/identityGovernance/entitlementManagement/connectedOrganizations/{id}/externalSponsors",
            ),
        ),
        license="P2",
        noise=("modifiedDateTime",),
        read_only=("id", "createdDateTime", "modifiedDateTime"),
        create="POST",
        update="PATCH",
        restore_order=100,
        references=("users", "groups"),
    ),
    ResourceType(
        "accessPackages",
        "Access packages",
        "governance",
        "/identityGovernance/entitlementManagement/accessPackages",
        "EntitlementManagement.Read.All",
        page_size=None,
        license="P2",
        noise=("modifiedDateTime",),
        read_only=("id", "createdDateTime", "modifiedDateTime"),
        create="POST",
        update="PATCH",
        restore_order=105,
        references=("accessPackageCatalogs",),
    ),
    ResourceType(
        "accessPackageAssignmentPolicies",
        "Access package assignment policies",
        "governance",
        "/identityGovernance/entitlementManagement/assignmentPolicies",
        "EntitlementManagement.Read.All",
        page_size=None,
        license="P2",
        noise=("modifiedDateTime",),
        read_only=("id", "createdDateTime", "modifiedDateTime"),
        create="POST",
        update="PUT",
        restore_order=110,
        references=("accessPackages", "accessPackageCatalogs", "users", "groups", "connectedOrganizations"),
    ),
    _singleton(
        "entitlementManagementSettings",
        "Entitlement management settings",
        "governance",
        "/identityGovernance/entitlementManagement/settings",
        "EntitlementManagement.Read.All",
    ),
    ResourceType(
        "accessReviewDefinitions",
        "Access review definitions",
        "governance",
        "/identityGovernance/accessReviews/definitions",
        "AccessReview.Read.All",
        page_size=None,
        children=(_objects("instances", "/identityGovernance/accessReviews/definitions/{id}/instances"),),
        license="P2",
        noise=("lastModifiedDateTime",),
        read_only=("id", "createdDateTime", "lastModifiedDateTime", "createdBy", "status"),
        create="POST",
        update="PUT",
        restore_order=115,
        references=("users", "groups", "applications", "servicePrincipals"),
    ),
    ResourceType(
        "termsOfUseAgreements",
        "Terms of use",
        "governance",
        "/identityGovernance/termsOfUse/agreements",
        "Agreement.Read.All",
        page_size=None,
        license="P1",
        read_only=("id",),
        create="POST",
        update="PATCH",
        restore_order=14,
    ),
    ResourceType(
        "lifecycleWorkflows",
        "Lifecycle workflows",
        "governance",
        "/identityGovernance/lifecycleWorkflows/workflows",
        "LifecycleWorkflows.Read.All",
        page_size=None,
        children=(_objects("tasks", "/identityGovernance/lifecycleWorkflows/workflows/{id}/tasks"),),
        license="Governance",
        noise=("lastModifiedDateTime", "nextScheduleRunDateTime"),
        read_only=(
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "version",
            "createdBy",
            "lastModifiedBy",
            "nextScheduleRunDateTime",
        ),
        create="POST",
        update="PATCH",
        restore_order=120,
    ),
)

CATALOG: tuple[ResourceType, ...] = (
    *CONFIG,
    *USERS,
    *GROUPS,
    *DEVICES,
    *APPLICATIONS,
    *ROLES,
    *PIM,
    *CONDITIONAL_ACCESS,
    *POLICIES,
    *EXTERNAL_IDENTITIES,
    *GOVERNANCE,
)
