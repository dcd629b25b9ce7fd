"""Tenant-wide policies under ``/policies``: authentication methods, authorization, security defaults,
cross-tenant access, consent, app management, device registration and the directory's sts policies.

Endpoints: https://learn.microsoft.com/graph/api/resources/policyroot and the pages it links. Shapes follow
the documented examples (``graph-examples/v1.0__*policy*``) and the v1.0 schema (beta for
``externalIdentitiesPolicy``, which only exists there).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.engine import Response
from entrasnap.fakegraph.odata import GraphError, bad_request, not_found
from entrasnap.fakegraph.resource import BETA, Expansion, Resource
from entrasnap.fakegraph.state import JSON, Store

GET = frozenset({"GET"})
GET_PATCH = frozenset({"GET", "PATCH"})
GET_PUT = frozenset({"GET", "PUT"})
GET_POST = frozenset({"GET", "POST"})
ITEM_RW = frozenset({"GET", "PATCH", "DELETE"})

# Application permissions, from the API reference pages (see facts-policies.md section 2).
AUTH_METHODS_READ = (
    "Policy.Read.AuthenticationMethod",
    "Policy.Read.All",
    "Policy.ReadWrite.AuthenticationMethod",
)
AUTH_METHODS_WRITE = ("Policy.ReadWrite.AuthenticationMethod",)
AUTHORIZATION_READ = ("Policy.Read.All", "Policy.ReadWrite.Authorization")
AUTHORIZATION_WRITE = ("Policy.ReadWrite.Authorization",)
SECURITY_DEFAULTS_READ = (
    "Policy.Read.All",
    "Policy.ReadWrite.SecurityDefaults",
    "Policy.ReadWrite.ConditionalAccess",
)
SECURITY_DEFAULTS_WRITE = ("Policy.ReadWrite.SecurityDefaults", "Policy.ReadWrite.ConditionalAccess")
CROSS_TENANT_READ = ("Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess")
CROSS_TENANT_WRITE = ("Policy.ReadWrite.CrossTenantAccess",)
APP_CONFIG_READ = (
    "Policy.Read.All",
    "Policy.Read.ApplicationConfiguration",
    "Policy.ReadWrite.ApplicationConfiguration",
)
APP_CONFIG_WRITE = ("Policy.ReadWrite.ApplicationConfiguration",)
# List appliesTo of an sts or app management policy: Policy.Read.All and Application.Read.All (fakegraph
# checks one permission of a list, so the policy side's).
APPLIES_TO_READ = ("Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration", "Directory.Read.All")
FEATURE_ROLLOUT_READ = ("Policy.Read.All", "Policy.ReadWrite.FeatureRollout", "Directory.Read.All")
FEATURE_ROLLOUT_WRITE = ("Policy.ReadWrite.FeatureRollout", "Directory.ReadWrite.All")
PERMISSION_GRANT_READ = ("Policy.Read.PermissionGrant", "Policy.ReadWrite.PermissionGrant")
PERMISSION_GRANT_WRITE = ("Policy.ReadWrite.PermissionGrant",)
CONSENT_REQUEST_READ = ("Policy.Read.All", "Policy.ReadWrite.ConsentRequest", "Directory.Read.All")
CONSENT_REQUEST_WRITE = ("Policy.ReadWrite.ConsentRequest", "Directory.ReadWrite.All")
DEVICE_REG_READ = ("Policy.Read.DeviceConfiguration", "Policy.ReadWrite.DeviceConfiguration")
DEVICE_REG_WRITE = ("Policy.ReadWrite.DeviceConfiguration",)
AUTH_FLOWS_READ = ("Policy.Read.All", "Policy.ReadWrite.AuthenticationFlows")
AUTH_FLOWS_WRITE = ("Policy.ReadWrite.AuthenticationFlows",)
EXTERNAL_IDENTITIES_READ = ("Policy.Read.All", "Policy.ReadWrite.ExternalIdentities")
EXTERNAL_IDENTITIES_WRITE = ("Policy.ReadWrite.ExternalIdentities",)

AUTH_METHODS = "policies/authenticationMethodsPolicy"
AUTH_METHOD_CONFIGS = "policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
CROSS_TENANT = "policies/crossTenantAccessPolicy"
PARTNERS = "policies/crossTenantAccessPolicy/partners"
PERMISSION_GRANTS = "policies/permissionGrantPolicies"
FEATURE_ROLLOUT = "policies/featureRolloutPolicies"
APP_MANAGEMENT = "policies/appManagementPolicies"
# sts policy sets (directory objects) and the element type of each.
STS_SETS = {
    "policies/activityBasedTimeoutPolicies": "microsoft.graph.activityBasedTimeoutPolicy",
    "policies/homeRealmDiscoveryPolicies": "microsoft.graph.homeRealmDiscoveryPolicy",
    "policies/claimsMappingPolicies": "microsoft.graph.claimsMappingPolicy",
    "policies/tokenIssuancePolicies": "microsoft.graph.tokenIssuancePolicy",
    "policies/tokenLifetimePolicies": "microsoft.graph.tokenLifetimePolicy",
}
ALL_USERS = "all_users"  # the authentication methods policy's target id for every user

# Built-in permission grant policies (ids as Graph lists them); ``ManagePermissionGrantsFor...`` entries of
# authorizationPolicy.defaultUserRolePermissions refer to these.
BUILT_IN_GRANT_POLICIES: list[tuple[str, str, str, list[tuple[str, str, bool]]]] = [
    (
        "microsoft-all-application-permissions",
        "All application permissions, for any client app",
        "Includes all application permissions (app roles), for all APIs, for any client application.",
        [("application", "all", False)],
    ),
    (
        "microsoft-all-application-permissions-verified",
        "All application permissions, for verified client apps",
        "Includes all application permissions (app roles), for all APIs, for client applications from "
        "verified "
        "publishers or which were registered in this organization.",
        [("application", "all", True)],
    ),
    (
        "microsoft-application-admin",
        "Application Administrator",
        "Permissions consentable by Application Administrators.",
        [("delegated", "all", False)],
    ),
    (
        "microsoft-company-admin",
        "Company Admin Policy",
        "Permissions consentable by Company Administrators.",
        [("application", "all", False), ("delegated", "all", False)],
    ),
    (
        "microsoft-dynamically-managed-permissions-for-chat",
        "Dynamically managed permissions for chats",
        "Includes resource-specific permissions for chats, managed by Microsoft.",
        [("application", "all", False)],
    ),
    (
        "microsoft-dynamically-managed-permissions-for-team",
        "Dynamically managed permissions for teams",
        "Includes resource-specific permissions for teams, managed by Microsoft.",
        [("application", "all", False)],
    ),
    (
        "microsoft-user-default-legacy",
        "Default policy for user consent (legacy)",
        "All delegated permissions are allowed for all client apps, except permissions to Azure AD Graph "
        "and Microsoft Graph that require admin consent.",
        [("delegated", "all", False)],
    ),
    (
        "microsoft-user-default-low",
        "Default policy for user consent (low risk, verified or internal apps)",
        "Includes delegated permissions classified low, for client apps from verified publishers or "
        "registered in this organization.",
        [("delegated", "low", True)],
    ),
    (
        "microsoft-user-default-recommended",
        "Microsoft recommended default user consent policy",
        "Includes the delegated permissions Microsoft recommends users may consent to.",
        [("delegated", "low", True)],
    ),
]


# --- hooks ----------------------------------------------------------------------------------------


def _sts_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    definition = obj.get("definition")
    if not isinstance(definition, list) or not definition or not all(isinstance(d, str) for d in definition):
        raise bad_request(
            "Property 'definition' is required and must be a collection of JSON strings.",
            "Request_BadRequest",
        )
    for text in definition:
        try:
            json.loads(text)
        except ValueError:
            raise bad_request(
                "Invalid value specified for property 'definition' of resource 'Policy'.",
                "Request_BadRequest",
            ) from None
    if not obj.get("displayName"):
        raise bad_request("Property 'displayName' is required.", "Request_BadRequest")
    obj.setdefault("isOrganizationDefault", False)
    obj.pop("createdDateTime", None)  # not a property of stsPolicy
    return obj


def _policy_base_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj.setdefault("description", None)
    obj.pop("createdDateTime", None)
    return obj


def _app_management_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj = _policy_base_created(store, obj, params)
    obj.setdefault("isEnabled", True)
    obj.setdefault("restrictions", None)
    return obj


def _feature_rollout_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj.pop("createdDateTime", None)
    obj.setdefault("description", None)
    obj.setdefault("isEnabled", False)
    obj.setdefault("isAppliedToOrganization", False)
    return obj


def _partner_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj.pop("createdDateTime", None)
    for prop in (
        "inboundTrust",
        "b2bCollaborationInbound",
        "b2bCollaborationOutbound",
        "b2bDirectConnectInbound",
        "b2bDirectConnectOutbound",
        "tenantRestrictions",
    ):
        obj.setdefault(prop, None)
    obj.setdefault("automaticUserConsentSettings", {"inboundAllowed": None, "outboundAllowed": None})
    obj.setdefault("isServiceProvider", None)
    obj.setdefault("isInMultiTenantOrganization", False)
    return obj


def _partner_deleted(store: Store, obj: JSON) -> None:
    store.singletons.pop(f"{PARTNERS}/{obj['tenantId']}/identitySynchronization", None)


def _grant_policy_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    if not isinstance(obj.get("id"), str):
        raise bad_request("Property 'id' is required.", "Request_BadRequest")
    obj.pop("createdDateTime", None)
    obj.setdefault("description", None)
    obj.pop("includes", None)
    obj.pop("excludes", None)
    return obj


def _grant_policy_deleted(store: Store, obj: JSON) -> None:
    if str(obj["id"]).startswith("microsoft-"):
        raise GraphError(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation. Built-in policies cannot be deleted.",
        )
    for nav in ("includes", "excludes"):
        store.sets.pop(f"{PERMISSION_GRANTS}/{obj['id']}/{nav}", None)


def _condition_set_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    policies = store.sets.get(PERMISSION_GRANTS)
    if policies is None or params["id"] not in policies:
        raise not_found(params["id"])
    obj.pop("createdDateTime", None)
    return _condition_set(obj)


def _condition_set(obj: JSON) -> JSON:
    obj.setdefault("permissionClassification", "all")
    obj.setdefault("permissionType", "delegated")
    obj.setdefault("resourceApplication", "any")
    obj.setdefault("permissions", ["all"])
    obj.setdefault("clientApplicationIds", ["all"])
    obj.setdefault("clientApplicationTenantIds", ["all"])
    obj.setdefault("clientApplicationPublisherIds", ["all"])
    obj.setdefault("clientApplicationsFromVerifiedPublisherOnly", False)
    return obj


def _identity_sync(engine: Any, request: Any, match: Any) -> Any:
    """``partners/{tenantId}/identitySynchronization``: only for an existing partner; PUT keeps its "
    "tenantId."""
    tenant_id = match.params["tenantId"]
    partners = engine.store.sets.get(PARTNERS)
    partner = partners.get(tenant_id) if partners is not None else None
    if partner is None:
        raise not_found(tenant_id)
    response = engine.dispatch(request, match)
    key = f"{PARTNERS}/{tenant_id}/identitySynchronization"
    if request.method == "PUT" and key in engine.store.singletons:
        stored = engine.store.singletons[key]
        stored["tenantId"] = tenant_id
        stored.setdefault("displayName", None)
        stored.setdefault("userSyncInbound", None)
        engine.store.changes.record(key, key)
    return response


def _grant_policy_handler(engine: Any, request: Any, match: Any) -> Any:
    """POST keeps the id the caller chose (Graph requires one); everything else is the generic behaviour."""
    if request.method != "POST" or match.mode != "collection":
        return engine.dispatch(request, match)
    body = request.body
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise bad_request("Property 'id' is required.", "Request_BadRequest")
    policies = engine.store.set(PERMISSION_GRANTS)
    if body["id"] in policies:
        raise bad_request(f"An object with id '{body['id']}' already exists.", "Request_BadRequest")
    obj = _grant_policy_created(engine.store, {"deletedDateTime": None, **copy.deepcopy(body)}, {})
    engine.store.add(PERMISSION_GRANTS, obj)
    for nav in ("includes", "excludes"):
        engine.store.set(f"{PERMISSION_GRANTS}/{obj['id']}/{nav}")
    engine.store.changes.record(PERMISSION_GRANTS, obj["id"])
    out = {"@odata.context": engine.context_url(request, match, None, entity=True)}
    out.update(engine.render(request, obj, match.resource, None, []))
    location = f"{request.base_url}/{request.version}/{PERMISSION_GRANTS}/{obj['id']}"
    return Response(201, out, {"Location": location}, objects=1)


# --- endpoints ------------------------------------------------------------------------------------


def _applies_to(key: str) -> Resource:
    """``GET /policies/<kind>/{id}/appliesTo``: the applications and service principals the policy is
    assigned to, i.e. the objects whose ``/applications|servicePrincipals/{id}/<kind>`` lists it (stsPolicy
    and appManagementPolicy "List appliesTo", v1.0; assignments are made from the app or SP side)."""
    kind = key.rsplit("/", 1)[-1]
    return Resource(
        f"/{key}/{{id}}/appliesTo",
        "links",
        "microsoft.graph.directoryObject",
        APPLIES_TO_READ,
        extra={"inverse": (f"applications/{kind}", f"servicePrincipals/{kind}")},
    )


def _sts(path: str, type_: str) -> Resource:
    return Resource(
        path,
        "set",
        type_,
        APP_CONFIG_READ,
        write=APP_CONFIG_WRITE,
        methods=GET_POST,
        item_methods=ITEM_RW,
        page_size=None,
        directory_object=True,
        on_create=_sts_created,
        extra={"read_only": ("deletedDateTime",)},
    )


RESOURCES: list[Resource] = [
    Resource(
        "/policies/authenticationMethodsPolicy",
        "singleton",
        "microsoft.graph.authenticationMethodsPolicy",
        AUTH_METHODS_READ,
        write=AUTH_METHODS_WRITE,
        methods=GET_PATCH,
        context="authenticationMethodsPolicy",
        inline={"authenticationMethodConfigurations": AUTH_METHOD_CONFIGS},
    ),
    Resource(
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        "set",
        "microsoft.graph.authenticationMethodConfiguration",
        AUTH_METHODS_READ,
        write=AUTH_METHODS_WRITE,
        item_methods=GET_PATCH,
        page_size=None,
        context="authenticationMethodConfigurations",
    ),
    Resource(
        "/policies/authorizationPolicy",
        "singleton",
        "microsoft.graph.authorizationPolicy",
        AUTHORIZATION_READ,
        write=AUTHORIZATION_WRITE,
        methods=GET_PATCH,
    ),
    Resource(
        "/policies/identitySecurityDefaultsEnforcementPolicy",
        "singleton",
        "microsoft.graph.identitySecurityDefaultsEnforcementPolicy",
        SECURITY_DEFAULTS_READ,
        write=SECURITY_DEFAULTS_WRITE,
        methods=GET_PATCH,
    ),
    Resource(
        "/policies/crossTenantAccessPolicy",
        "singleton",
        "microsoft.graph.crossTenantAccessPolicy",
        CROSS_TENANT_READ,
        write=CROSS_TENANT_WRITE,
        methods=GET_PATCH,
    ),
    Resource(
        "/policies/crossTenantAccessPolicy/default",
        "singleton",
        "microsoft.graph.crossTenantAccessPolicyConfigurationDefault",
        CROSS_TENANT_READ,
        write=CROSS_TENANT_WRITE,
        methods=GET_PATCH,
    ),
    Resource(
        "/policies/crossTenantAccessPolicy/partners",
        "set",
        "microsoft.graph.crossTenantAccessPolicyConfigurationPartner",
        CROSS_TENANT_READ,
        write=CROSS_TENANT_WRITE,
        methods=GET_POST,
        item_methods=ITEM_RW,
        page_size=None,
        id_field="tenantId",
        on_create=_partner_created,
        on_delete=_partner_deleted,
        extra={"read_only": ("tenantId",)},
    ),
    Resource(
        "/policies/crossTenantAccessPolicy/partners/{tenantId}/identitySynchronization",
        "singleton",
        "microsoft.graph.crossTenantIdentitySyncPolicyPartner",
        CROSS_TENANT_READ,
        write=CROSS_TENANT_WRITE,
        methods=frozenset({"GET", "PUT", "PATCH"}),
        extra={"handler": _identity_sync},
    ),
    Resource(
        "/policies/adminConsentRequestPolicy",
        "singleton",
        "microsoft.graph.adminConsentRequestPolicy",
        CONSENT_REQUEST_READ,
        write=CONSENT_REQUEST_WRITE,
        methods=GET_PUT,
    ),
    Resource(
        "/policies/defaultAppManagementPolicy",
        "singleton",
        "microsoft.graph.tenantAppManagementPolicy",
        APP_CONFIG_READ,
        write=APP_CONFIG_WRITE,
        methods=GET_PATCH,
    ),
    Resource(
        "/policies/deviceRegistrationPolicy",
        "singleton",
        "microsoft.graph.deviceRegistrationPolicy",
        DEVICE_REG_READ,
        write=DEVICE_REG_WRITE,
        methods=GET_PUT,
        context="deviceRegistrationPolicy",
    ),
    Resource(
        "/policies/authenticationFlowsPolicy",
        "singleton",
        "microsoft.graph.authenticationFlowsPolicy",
        AUTH_FLOWS_READ,
        write=AUTH_FLOWS_WRITE,
        methods=GET_PATCH,
    ),
    Resource(
        "/policies/externalIdentitiesPolicy",
        "singleton",
        "microsoft.graph.externalIdentitiesPolicy",
        EXTERNAL_IDENTITIES_READ,
        write=EXTERNAL_IDENTITIES_WRITE,
        methods=GET_PATCH,
        versions=BETA,
    ),
    *(_sts("/" + key, type_) for key, type_ in STS_SETS.items()),
    *(_applies_to(key) for key in (*STS_SETS, APP_MANAGEMENT)),
    Resource(
        "/policies/featureRolloutPolicies",
        "set",
        "microsoft.graph.featureRolloutPolicy",
        FEATURE_ROLLOUT_READ,
        write=FEATURE_ROLLOUT_WRITE,
        methods=GET_POST,
        item_methods=ITEM_RW,
        page_size=None,
        expand={"appliesTo": Expansion("links", f"{FEATURE_ROLLOUT}/appliesTo")},
        on_create=_feature_rollout_created,
    ),
    Resource(
        "/policies/featureRolloutPolicies/{id}/appliesTo",
        "links",
        "microsoft.graph.directoryObject",
        FEATURE_ROLLOUT_READ,
        write=FEATURE_ROLLOUT_WRITE,
        methods=GET_POST,
        page_size=None,
    ),
    Resource(
        "/policies/permissionGrantPolicies",
        "set",
        "microsoft.graph.permissionGrantPolicy",
        PERMISSION_GRANT_READ,
        write=PERMISSION_GRANT_WRITE,
        methods=GET_POST,
        item_methods=ITEM_RW,
        page_size=None,
        inline={
            "includes": PERMISSION_GRANTS + "/{id}/includes",
            "excludes": PERMISSION_GRANTS + "/{id}/excludes",
        },
        on_create=_grant_policy_created,
        on_delete=_grant_policy_deleted,
        extra={"handler": _grant_policy_handler},
    ),
    *(
        Resource(
            f"/policies/permissionGrantPolicies/{{id}}/{nav}",
            "set",
            "microsoft.graph.permissionGrantConditionSet",
            PERMISSION_GRANT_READ,
            write=PERMISSION_GRANT_WRITE,
            methods=GET_POST,
            item_methods=frozenset({"GET", "DELETE"}),
            page_size=None,
            on_create=_condition_set_created,
        )
        for nav in ("includes", "excludes")
    ),
    Resource(
        "/policies/appManagementPolicies",
        "set",
        "microsoft.graph.appManagementPolicy",
        APP_CONFIG_READ,
        write=APP_CONFIG_WRITE,
        methods=GET_POST,
        item_methods=ITEM_RW,
        page_size=None,
        directory_object=True,
        on_create=_app_management_created,
        extra={"read_only": ("deletedDateTime",)},
    ),
]


# --- generation -----------------------------------------------------------------------------------


def _security_groups(store: Store) -> list[str]:
    groups = store.sets.get("groups")
    if groups is None:
        return []
    return [
        gid for gid, g in groups.objects.items() if g.get("securityEnabled") and not g.get("membershipRule")
    ]


def _member_users(store: Store) -> list[str]:
    users = store.sets.get("users")
    if users is None:
        return []
    return [
        uid for uid, u in users.objects.items() if u.get("userType") == "Member" and u.get("accountEnabled")
    ]


def _target(target_id: str, **extra: Any) -> JSON:
    return {"targetType": "group", "id": target_id, "isRegistrationRequired": False, **extra}


def _exclude(group_id: str) -> JSON:
    return {"targetType": "group", "id": group_id}


def _auth_method_configs(ctx: Context, groups: list[str]) -> list[JSON]:
    """The built-in method configurations, typed, targeting all users or real groups."""
    pilot, break_glass, frontline, admins = (ctx.sample(groups, 4) + [ALL_USERS] * 4)[:4]
    excludes = [_exclude(break_glass)] if break_glass != ALL_USERS else []

    def targets(**extra: Any) -> list[JSON]:
        if ctx.chance(0.6):
            return [_target(ALL_USERS, **extra)]
        return (
            [_target(pilot, **extra), _target(admins, **extra)]
            if pilot != admins
            else [_target(pilot, **extra)]
        )

    graph = "#microsoft.graph."
    return [
        {
            "@odata.type": graph + "fido2AuthenticationMethodConfiguration",
            "id": "Fido2",
            "state": "enabled",
            "isSelfServiceRegistrationAllowed": True,
            "isAttestationEnforced": ctx.chance(0.5),
            "keyRestrictions": {
                "isEnforced": ctx.chance(0.3),
                "enforcementType": "allow",
                "aaGuids": ["cb69481e-8ff7-4039-93ec-0a2729a154a8", "ee882879-721c-4913-9775-3dfcce97072a"],
            },
            "includeTargets": targets(),
            "excludeTargets": excludes,
        },
        {
            "@odata.type": graph + "microsoftAuthenticatorAuthenticationMethodConfiguration",
            "id": "MicrosoftAuthenticator",
            "state": "enabled",
            "isSoftwareOathEnabled": ctx.chance(0.3),
            "featureSettings": {
                "displayAppInformationRequiredState": {
                    "state": "enabled",
                    "includeTarget": {"targetType": "group", "id": ALL_USERS},
                    "excludeTarget": {"targetType": "group", "id": frontline},
                },
                "displayLocationInformationRequiredState": {
                    "state": ctx.pick(["enabled", "default"]),
                    "includeTarget": {"targetType": "group", "id": ALL_USERS},
                    "excludeTarget": {"targetType": "group", "id": break_glass},
                },
            },
            "includeTargets": [
                _target(ALL_USERS, authenticationMode=ctx.pick(["any", "push", "deviceBasedPush"]))
            ],
            "excludeTargets": excludes,
        },
        {
            "@odata.type": graph + "smsAuthenticationMethodConfiguration",
            "id": "Sms",
            "state": ctx.pick(["enabled", "disabled"]),
            "includeTargets": [_target(frontline, isUsableForSignIn=True)],
            "excludeTargets": [],
        },
        {
            "@odata.type": graph + "temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": "enabled",
            "defaultLifetimeInMinutes": 60,
            "defaultLength": 8,
            "minimumLifetimeInMinutes": 60,
            "maximumLifetimeInMinutes": 480,
            "isUsableOnce": ctx.chance(0.5),
            "includeTargets": [_target(admins)],
            "excludeTargets": [],
        },
        {
            "@odata.type": graph + "emailAuthenticationMethodConfiguration",
            "id": "Email",
            "state": "enabled",
            "allowExternalIdToUseEmailOtp": "default",
            "includeTargets": [],
            "excludeTargets": [],
        },
        {
            "@odata.type": graph + "x509CertificateAuthenticationMethodConfiguration",
            "id": "X509Certificate",
            "state": ctx.pick(["disabled", "enabled"]),
            "certificateUserBindings": [
                {
                    "x509CertificateField": "PrincipalName",
                    "userProperty": "onPremisesUserPrincipalName",
                    "priority": 1,
                    "trustAffinityLevel": "low",
                },
                {
                    "x509CertificateField": "RFC822Name",
                    "userProperty": "userPrincipalName",
                    "priority": 2,
                    "trustAffinityLevel": "low",
                },
            ],
            "authenticationModeConfiguration": {
                "x509CertificateAuthenticationDefaultMode": "x509CertificateSingleFactor",
                "x509CertificateDefaultRequiredAffinityLevel": "low",
                "rules": [],
            },
            "includeTargets": [_target(pilot)],
            "excludeTargets": [],
        },
        {
            "@odata.type": graph + "softwareOathAuthenticationMethodConfiguration",
            "id": "SoftwareOath",
            "state": ctx.pick(["enabled", "disabled"]),
            "includeTargets": [_target(ALL_USERS)],
            "excludeTargets": [],
        },
        {
            "@odata.type": graph + "voiceAuthenticationMethodConfiguration",
            "id": "Voice",
            "state": "disabled",
            "isOfficePhoneAllowed": False,
            "includeTargets": [_target(frontline)],
            "excludeTargets": [],
        },
    ]


def _b2b(users_access: str, users: list[JSON], apps_access: str, apps: list[JSON]) -> JSON:
    return {
        "usersAndGroups": {"accessType": users_access, "targets": users},
        "applications": {"accessType": apps_access, "targets": apps},
    }


ALL_USERS_TARGET = {"target": "AllUsers", "targetType": "user"}
ALL_APPS_TARGET = {"target": "AllApplications", "targetType": "application"}
OFFICE_TARGET = {"target": "Office365", "targetType": "application"}
SHAREPOINT_APP = "00000003-0000-0ff1-ce00-000000000000"  # Office 365 SharePoint Online, a first-party appId


def _partners(ctx: Context, groups: list[str]) -> list[tuple[JSON, JSON | None]]:
    names = [
        "Fabrikam",
        "Northwind Traders",
        "Tailspin Toys",
        "Woodgrove Bank",
        "Litware Inc",
        "Adatum Corporation",
    ]
    out: list[tuple[JSON, JSON | None]] = []
    for index, name in enumerate(names[: 3 + ctx.rng.randrange(3)]):
        tenant_id = ctx.uuid()
        outbound_groups = [{"target": g, "targetType": "group"} for g in ctx.sample(groups, 2)]
        mode = index % 3
        partner: JSON = {
            "tenantId": tenant_id,
            "inboundTrust": {
                "isMfaAccepted": True,
                "isCompliantDeviceAccepted": ctx.chance(0.6),
                "isHybridAzureADJoinedDeviceAccepted": ctx.chance(0.4),
            }
            if mode != 2
            else None,
            "automaticUserConsentSettings": {"inboundAllowed": mode == 0, "outboundAllowed": mode == 0},
            "b2bCollaborationInbound": _b2b("allowed", [ALL_USERS_TARGET], "allowed", [OFFICE_TARGET])
            if mode != 1
            else None,
            "b2bCollaborationOutbound": _b2b(
                "allowed", outbound_groups or [ALL_USERS_TARGET], "allowed", [ALL_APPS_TARGET]
            )
            if mode != 2
            else None,
            "b2bDirectConnectInbound": _b2b("allowed", [ALL_USERS_TARGET], "allowed", [OFFICE_TARGET])
            if mode == 1
            else None,
            "b2bDirectConnectOutbound": _b2b(
                "blocked",
                [ALL_USERS_TARGET],
                "blocked",
                [{"target": SHAREPOINT_APP, "targetType": "application"}],
            )
            if mode == 1
            else None,
            "tenantRestrictions": None,
            "isServiceProvider": mode == 2 or None,
            "isInMultiTenantOrganization": mode == 0,
        }
        sync = (
            {"tenantId": tenant_id, "displayName": name, "userSyncInbound": {"isSyncAllowed": True}}
            if mode == 0
            else None
        )
        out.append((partner, sync))
    return out


def _sts_policies(ctx: Context, extra: int) -> dict[str, list[tuple[str, list[str], bool]]]:
    """(displayName, definition, isOrganizationDefault) for each sts policy set."""
    lifetimes = ["1:00:00", "2:00:00", "4:00:00", "8:00:00", "12:00:00", "23:00:00"]
    token_lifetime = [
        (
            f"{name} token lifetime",
            [json.dumps({"TokenLifetimePolicy": {"Version": 1, "AccessTokenLifetime": life}})],
            False,
        )
        for name, life in zip(
            [
                "Contoso web apps",
                "Finance apps",
                "Kiosk apps",
                "Partner portal",
                "Long-running jobs",
                "Reporting",
            ],
            lifetimes,
            strict=False,
        )
    ][: 2 + extra]
    issuance = [
        (
            "SAML SHA-256 signing",
            [
                json.dumps(
                    {
                        "TokenIssuancePolicy": {
                            "Version": 1,
                            "SigningAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                            "SamlTokenVersion": "2.0",
                            "TokenResponseSigningPolicy": "TokenOnly",
                            "EmitSAMLNameFormat": "true",
                        }
                    }
                )
            ],
            False,
        ),
        (
            "Legacy SAML 1.1 apps",
            [
                json.dumps(
                    {
                        "TokenIssuancePolicy": {
                            "Version": 1,
                            "SigningAlgorithm": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                            "SamlTokenVersion": "1.1",
                            "TokenResponseSigningPolicy": "ResponseAndToken",
                        }
                    }
                )
            ],
            False,
        ),
        (
            "Sign response and assertion",
            [
                json.dumps(
                    {
                        "TokenIssuancePolicy": {
                            "Version": 1,
                            "SigningAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                            "SamlTokenVersion": "2.0",
                            "TokenResponseSigningPolicy": "ResponseAndToken",
                        }
                    }
                )
            ],
            False,
        ),
    ][: 2 + min(extra, 1)]
    claims = [
        (
            "Employee ID in tokens",
            [
                json.dumps(
                    {
                        "ClaimsMappingPolicy": {
                            "Version": 1,
                            "IncludeBasicClaimSet": "true",
                            "ClaimsSchema": [
                                {
                                    "Source": "user",
                                    "ID": "employeeid",
                                    "JwtClaimType": "employeeid",
                                    "SamlClaimType": "http://schemas.contoso.com/identity/claims/employeeid",
                                }
                            ],
                        }
                    }
                )
            ],
            False,
        ),
        (
            "SAML name identifier from UPN",
            [
                json.dumps(
                    {
                        "ClaimsMappingPolicy": {
                            "Version": 1,
                            "IncludeBasicClaimSet": "true",
                            "ClaimsSchema": [
                                {
                                    "Source": "user",
                                    "ID": "userprincipalname",
                                    "SamlClaimType": ""
                                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
                                },
                                {
                                    "Source": "user",
                                    "ID": "givenname",
                                    "SamlClaimType": ""
                                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
                                },
                                {
                                    "Source": "user",
                                    "ID": "surname",
                                    "SamlClaimType": ""
                                    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
                                },
                            ],
                        }
                    }
                )
            ],
            False,
        ),
        (
            "Department and cost center",
            [
                json.dumps(
                    {
                        "ClaimsMappingPolicy": {
                            "Version": 1,
                            "IncludeBasicClaimSet": "true",
                            "ClaimsSchema": [
                                {"Source": "user", "ID": "department", "JwtClaimType": "dept"},
                                {"Source": "user", "ID": "extensionattribute1", "JwtClaimType": "costcenter"},
                            ],
                        }
                    }
                )
            ],
            False,
        ),
    ][: 2 + min(extra, 1)]
    hrd = [
        (
            "Accelerate to corp ADFS",
            [
                json.dumps(
                    {
                        "HomeRealmDiscoveryPolicy": {
                            "AccelerateToFederatedDomain": True,
                            "PreferredDomain": f"corp.{ctx.domain}",
                        }
                    }
                )
            ],
            False,
        ),
        (
            "Alternate ID sign-in",
            [
                json.dumps(
                    {
                        "HomeRealmDiscoveryPolicy": {
                            "AccelerateToFederatedDomain": False,
                            "AlternateIdLogin": {"Enabled": True},
                        }
                    }
                )
            ],
            False,
        ),
        (
            "Allow cloud password for federated users",
            [json.dumps({"HomeRealmDiscoveryPolicy": {"AllowCloudPasswordValidation": True}})],
            False,
        ),
    ][: 2 + min(extra, 1)]
    timeout = [
        (
            "Org-wide web session idle timeout",
            [
                json.dumps(
                    {
                        "ActivityBasedTimeoutPolicy": {
                            "Version": 1,
                            "ApplicationPolicies": [
                                {"ApplicationId": "default", "WebSessionIdleTimeout": "01:00:00"}
                            ],
                        }
                    }
                )
            ],
            True,
        ),
        (
            "Admin portals idle timeout",
            [
                json.dumps(
                    {
                        "ActivityBasedTimeoutPolicy": {
                            "Version": 1,
                            "ApplicationPolicies": [
                                {
                                    "ApplicationId": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
                                    "WebSessionIdleTimeout": "00:15:00",
                                }
                            ],
                        }
                    }
                )
            ],
            False,
        ),
    ]
    return {
        "policies/activityBasedTimeoutPolicies": timeout,
        "policies/homeRealmDiscoveryPolicies": hrd,
        "policies/claimsMappingPolicies": claims,
        "policies/tokenIssuancePolicies": issuance,
        "policies/tokenLifetimePolicies": token_lifetime,
    }


def _credential_rules(ctx: Context, days: int) -> JSON:
    cutoff = ctx.time(700, 200)
    return {
        "passwordCredentials": [
            {
                "restrictionType": "passwordLifetime",
                "state": "enabled",
                "maxLifetime": f"P{days}D",
                "restrictForAppsCreatedAfterDateTime": cutoff,
                "excludeActors": None,
            },
            {
                "restrictionType": "passwordAddition",
                "state": ctx.pick(["enabled", "disabled"]),
                "maxLifetime": None,
                "restrictForAppsCreatedAfterDateTime": cutoff,
                "excludeActors": None,
            },
            {
                "restrictionType": "symmetricKeyAddition",
                "state": "enabled",
                "maxLifetime": None,
                "restrictForAppsCreatedAfterDateTime": cutoff,
                "excludeActors": None,
            },
        ],
        "keyCredentials": [
            {
                "restrictionType": "asymmetricKeyLifetime",
                "state": "enabled",
                "maxLifetime": f"P{days * 2}D",
                "restrictForAppsCreatedAfterDateTime": cutoff,
                "excludeActors": None,
            },
        ],
    }


def _grant_condition(ctx: Context, permission_type: str, classification: str, verified: bool) -> JSON:
    return _condition_set(
        {
            "id": ctx.uuid(),
            "permissionClassification": classification,
            "permissionType": permission_type,
            "clientApplicationsFromVerifiedPublisherOnly": verified,
        }
    )


def populate(store: Store, ctx: Context) -> None:
    """Every /policies singleton and collection, pointing at this tenant's real users and groups."""
    groups = _security_groups(store) or [ALL_USERS]
    users = _member_users(store)
    single = store.singletons
    big = {"S": 0, "M": 2, "L": 4}.get(store.size, 0)

    # Authentication methods policy and its method configurations.
    single[AUTH_METHODS] = {
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are allowed in "
        "the tenant, "
        "authentication method registration requirements, and self-service password reset settings",
        "lastModifiedDateTime": ctx.time(120, 1),
        "policyVersion": "1.5",
        "policyMigrationState": ctx.pick(["migrationComplete", "migrationInProgress"]),
        "reconfirmationInDays": 180,
        "registrationEnforcement": {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": ctx.rng.choice([1, 3, 14]),
                "state": ctx.pick(["enabled", "default"]),
                "excludeTargets": [
                    {"id": g, "targetType": "group"} for g in ctx.sample(groups, 1) if g != ALL_USERS
                ],
                "includeTargets": [
                    {
                        "id": ALL_USERS,
                        "targetType": "group",
                        "targetedAuthenticationMethod": "microsoftAuthenticator",
                    }
                ],
            }
        },
    }
    store.set(AUTH_METHOD_CONFIGS)
    for config in _auth_method_configs(ctx, [g for g in groups if g != ALL_USERS]):
        store.add(AUTH_METHOD_CONFIGS, config)

    # Authorization policy: member defaults restricted the way security-conscious tenants do.
    single["policies/authorizationPolicy"] = {
        "id": "authorizationPolicy",
        "deletedDateTime": None,
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": ctx.pick(
            ["adminsAndGuestInviters", "everyone", "adminsGuestInvitersAndAllMembers"]
        ),
        "allowedToSignUpEmailBasedSubscriptions": ctx.chance(0.3),
        "allowedToUseSSPR": True,
        "allowEmailVerifiedUsersToJoinOrganization": False,
        "allowUserConsentForRiskyApps": False,
        "blockMsolPowerShell": ctx.chance(0.5),
        "guestUserRoleId": ctx.pick(
            ["10dae51f-b6af-4016-8d66-8c2a99b929b3", "2af84b1e-32c8-42b7-82bc-daa82404023b"]
        ),
        "defaultUserRolePermissions": {
            "allowedToCreateApps": ctx.chance(0.3),
            "allowedToCreateSecurityGroups": ctx.chance(0.4),
            "allowedToCreateTenants": False,
            "allowedToReadBitlockerKeysForOwnedDevice": True,
            "allowedToReadOtherUsers": True,
            "permissionGrantPoliciesAssigned": [
                "ManagePermissionGrantsForSelf.microsoft-user-default-low",
                "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team",
                "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-chat",
            ],
        },
    }
    # Conditional Access is in use (the access area creates policies), so security defaults are off.
    single["policies/identitySecurityDefaultsEnforcementPolicy"] = {
        "id": "00000000-0000-0000-0000-000000000005",
        "deletedDateTime": None,
        "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms recommended by "
        "Microsoft. "
        "When enabled, these recommendations will be automatically enforced in your organization. "
        "Administrators and users will be better protected from common identity related attacks.",
        "isEnabled": ctx.plan.ca_policies == 0,
    }

    # Cross-tenant access: the policy, the default configuration and the partners.
    single[CROSS_TENANT] = {
        "id": "crossTenantAccessPolicy",
        "deletedDateTime": None,
        "displayName": "CrossTenantAccessPolicy",
        "description": None,
        "allowedCloudEndpoints": ["microsoftonline.us"] if ctx.chance(0.3) else [],
    }
    single[CROSS_TENANT + "/default"] = {
        "id": "crossTenantAccessPolicyConfigurationDefault",
        "isServiceDefault": False,
        "inboundTrust": {
            "isMfaAccepted": True,
            "isCompliantDeviceAccepted": False,
            "isHybridAzureADJoinedDeviceAccepted": False,
        },
        "automaticUserConsentSettings": {"inboundAllowed": False, "outboundAllowed": False},
        "b2bCollaborationOutbound": _b2b("allowed", [ALL_USERS_TARGET], "allowed", [ALL_APPS_TARGET]),
        "b2bCollaborationInbound": _b2b("allowed", [ALL_USERS_TARGET], "allowed", [ALL_APPS_TARGET]),
        "b2bDirectConnectOutbound": _b2b("blocked", [ALL_USERS_TARGET], "blocked", [ALL_APPS_TARGET]),
        "b2bDirectConnectInbound": _b2b("blocked", [ALL_USERS_TARGET], "blocked", [ALL_APPS_TARGET]),
        "invitationRedemptionIdentityProviderConfiguration": {
            "primaryIdentityProviderPrecedenceOrder": [
                "externalFederation",
                "azureActiveDirectory",
                "socialIdentityProviders",
            ],
            "fallbackIdentityProvider": "defaultConfiguredIdp",
        },
        "tenantRestrictions": None,
    }
    store.set(PARTNERS, "tenantId")
    for partner, sync in _partners(ctx, [g for g in groups if g != ALL_USERS]):
        store.add(PARTNERS, partner)
        if sync is not None:
            single[f"{PARTNERS}/{partner['tenantId']}/identitySynchronization"] = sync

    # Consent requests go to a few administrators and an approvers group.
    reviewers = [
        {"query": f"/users/{uid}", "queryType": "MicrosoftGraph", "queryRoot": None}
        for uid in ctx.sample(users, 2)
    ]
    reviewers += [
        {"query": f"/groups/{gid}/transitiveMembers", "queryType": "MicrosoftGraph", "queryRoot": None}
        for gid in ctx.sample([g for g in groups if g != ALL_USERS], 1)
    ]
    single["policies/adminConsentRequestPolicy"] = {
        "isEnabled": True,
        "notifyReviewers": True,
        "remindersEnabled": ctx.chance(0.5),
        "requestDurationInDays": ctx.rng.choice([7, 14, 30]),
        "version": 1 + ctx.rng.randrange(4),
        "reviewers": reviewers,
    }
    single["policies/defaultAppManagementPolicy"] = {
        "id": "00000000-0000-0000-0000-000000000000",
        "deletedDateTime": None,
        "displayName": "Default app management tenant policy",
        "description": "Default tenant policy that enforces app management restrictions on applications "
        "and service "
        "principals. To apply policy to targeted resources, create a new policy under "
        "appManagementPolicies collection.",
        "isEnabled": True,
        "applicationRestrictions": _credential_rules(ctx, 365),
        "servicePrincipalRestrictions": _credential_rules(ctx, 730),
    }
    local_admins = ctx.sample(users, 2)
    single["policies/deviceRegistrationPolicy"] = {
        "id": "deviceRegistrationPolicy",
        "displayName": "Device Registration Policy",
        "description": "Tenant-wide policy that manages initial provisioning controls using quota "
        "restrictions, "
        "additional authentication and authorization checks",
        "userDeviceQuota": ctx.rng.choice([10, 20, 50]),
        "multiFactorAuthConfiguration": ctx.pick(["notRequired", "required"]),
        "azureADRegistration": {
            "isAdminConfigurable": False,
            "allowedToRegister": {"@odata.type": "#microsoft.graph.allDeviceRegistrationMembership"},
        },
        "azureADJoin": {
            "isAdminConfigurable": True,
            "allowedToJoin": {
                "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
                "users": [],
                "groups": [g for g in ctx.sample(groups, 2) if g != ALL_USERS],
            },
            "localAdmins": {
                "enableGlobalAdmins": True,
                "registeringUsers": {
                    "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
                    "users": local_admins,
                    "groups": [],
                },
            },
        },
        "localAdminPassword": {"isEnabled": ctx.chance(0.6)},
    }
    single["policies/authenticationFlowsPolicy"] = {
        "id": "authenticationFlowsPolicy",
        "displayName": "Authentication flows policy",
        "description": "Authentication flows policy allows modification of settings related to "
        "authentication flows "
        "in Microsoft Entra ID tenant, such as self-service sign up configuration.",
        "selfServiceSignUp": {"isEnabled": ctx.chance(0.5)},
    }
    single["policies/externalIdentitiesPolicy"] = {
        # The beta type lists give no inherited policyBase properties to check against: own ones only.
        "id": "externalidentitiespolicy",
        "allowExternalIdentitiesToLeave": True,
        "allowDeletedIdentitiesDataRemoval": ctx.chance(0.5),
    }

    # sts policies: directory objects the apps area assigns to applications and service principals.
    for key, policies in _sts_policies(ctx, big).items():
        store.set(key)
        for name, definition, org_default in policies:
            store.add(
                key,
                {
                    "id": ctx.uuid(),
                    "deletedDateTime": None,
                    "definition": definition,
                    "displayName": name,
                    "isOrganizationDefault": org_default,
                },
                directory_object=True,
            )

    # Staged rollout of cloud authentication features to pilot groups.
    store.set(FEATURE_ROLLOUT)
    rollouts = [
        ("passwordHashSync", "Password hash sync pilot"),
        ("seamlessSso", "Seamless SSO rollout"),
        ("certificateBasedAuthentication", "CBA pilot"),
        ("passthroughAuthentication", "PTA pilot"),
    ]
    for feature, name in rollouts[: 2 + big // 2]:
        policy: JSON = {
            "id": ctx.uuid(),
            "displayName": name,
            "description": f"Staged rollout of {feature}",
            "feature": feature,
            "isEnabled": ctx.chance(0.7),
            "isAppliedToOrganization": False,
        }
        store.add(FEATURE_ROLLOUT, policy)
        for gid in ctx.sample([g for g in groups if g != ALL_USERS], 1 + ctx.rng.randrange(2)):
            store.link(f"{FEATURE_ROLLOUT}/appliesTo", policy["id"], gid)

    # Permission grant policies: the built-in ones plus a few custom ones.
    store.set(PERMISSION_GRANTS)
    for policy_id, name, description, includes in BUILT_IN_GRANT_POLICIES:
        store.add(
            PERMISSION_GRANTS,
            {"id": policy_id, "deletedDateTime": None, "displayName": name, "description": description},
        )
        key = f"{PERMISSION_GRANTS}/{policy_id}/includes"
        store.set(key)
        for permission_type, classification, verified in includes:
            store.add(key, _grant_condition(ctx, permission_type, classification, verified))
        store.set(f"{PERMISSION_GRANTS}/{policy_id}/excludes")
    customs = [
        ("tier-1", "Tier 1 Help Desk", "Custom permission grant policy for tier 1 help desk."),
        (
            "low-risk-graph",
            "Low-risk Microsoft Graph permissions",
            "Delegated low-risk Microsoft Graph permissions for verified publishers.",
        ),
    ]
    for policy_id, name, description in customs:
        store.add(
            PERMISSION_GRANTS,
            {"id": policy_id, "deletedDateTime": None, "displayName": name, "description": description},
        )
        store.set(f"{PERMISSION_GRANTS}/{policy_id}/includes")
        store.add(
            f"{PERMISSION_GRANTS}/{policy_id}/includes", _grant_condition(ctx, "delegated", "low", True)
        )
        excludes = f"{PERMISSION_GRANTS}/{policy_id}/excludes"
        store.set(excludes)
        if policy_id == "low-risk-graph":
            store.add(
                excludes,
                _condition_set(
                    {
                        "id": ctx.uuid(),
                        "permissionType": "delegated",
                        "resourceApplication": "00000003-0000-0000-c000-000000000000",
                        "permissions": ["e1fe6dd8-ba31-4d61-89e7-88639da4683d"],
                    }
                ),
            )

    # App management policies the apps area applies to some applications and service principals.
    store.set(APP_MANAGEMENT)
    for days, name in [
        (90, "Credential lifetime 90 days"),
        (180, "Credential lifetime 6 months"),
        (365, "Credential lifetime 1 year"),
        (30, "Short-lived secrets"),
    ][: 2 + big // 2]:
        restrictions = _credential_rules(ctx, days)
        store.add(
            APP_MANAGEMENT,
            {
                "id": ctx.uuid(),
                "deletedDateTime": None,
                "displayName": name,
                "description": f"Restrict password and certificate credentials to {days} days.",
                "isEnabled": ctx.chance(0.8),
                "restrictions": restrictions,
            },
            directory_object=True,
        )
