"""Applications, service principals, app role assignments and delegated permission grants.

Endpoints: https://learn.microsoft.com/graph/api/resources/application, .../resources/serviceprincipal,
.../resources/approleassignment and .../resources/oauth2permissiongrant. Shapes follow Microsoft's documented
responses (application-get, serviceprincipal-get, serviceprincipal-list-approleassignedto,
oauth2permissiongrant-list, application-list-federatedidentitycredentials,
serviceprincipal-list-delegatedpermissionclassifications).

Read permissions verified on learn.microsoft.com: application-list and application-list-owners
(Application.Read.All → Application.ReadWrite.OwnedBy, Application.ReadWrite.All, Directory.Read.All,
Directory.ReadWrite.All),
serviceprincipal-list-approleassignments / -approleassignedto (same family), oauth2permissiongrant-get and
serviceprincipal-list-oauth2permissiongrants (Directory.Read.All → DelegatedPermissionGrant.ReadWrite.All,
Directory.ReadWrite.All), oauth2permissiongrant-post (DelegatedPermissionGrant.ReadWrite.All),
serviceprincipal-post-approleassignedto (AppRoleAssignment.ReadWrite.All and Application.Read.All) and
serviceprincipal-post-delegatedpermissionclassifications (Policy.ReadWrite.PermissionGrant).
"""

from __future__ import annotations

import base64
import gc
import uuid

from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.names import APP_WORDS, LONG_SUFFIX
from entrasnap.fakegraph.odata import GraphError, bad_request
from entrasnap.fakegraph.resource import Expansion, Resource
from entrasnap.fakegraph.state import JSON, Store

APP_READ = (
    "Application.Read.All",
    "Application.ReadWrite.OwnedBy",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
APP_WRITE = ("Application.ReadWrite.OwnedBy", "Application.ReadWrite.All")
# UNVERIFIED: Directory.ReadWrite.All is not listed for application writes in the docs read; not accepted.
GRANT_READ = ("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All")
GRANT_WRITE = ("DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All")
ASSIGNMENT_WRITE = ("AppRoleAssignment.ReadWrite.All",)
# UNVERIFIED: policy links on apps and SPs (reading and $ref):
# Policy.Read.All / Policy.ReadWrite.ApplicationConfiguration.
POLICY_LINK_READ = (*APP_READ, "Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration")
POLICY_LINK_WRITE = ("Policy.ReadWrite.ApplicationConfiguration",)
CLASSIFICATION_WRITE = ("Policy.ReadWrite.PermissionGrant",)

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # Microsoft Services: owner of first-party apps
DEFAULT_ROLE = "00000000-0000-0000-0000-000000000000"
TOKEN_EXCHANGE = "api://AzureADTokenExchange"

# Microsoft Graph application permissions (app roles): id, value, display name. The first six ids are from the
# brief; the rest are well-known ids (UNVERIFIED this session).
GRAPH_ROLES: list[tuple[str, str, str]] = [
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"),
    ("5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups"),
    ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"),
    ("246dd0d5-5bd0-4def-940b-0421030a5b68", "Policy.Read.All", "Read your organization's policies"),
    ("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All", "Read all applications"),
    (
        "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
        "RoleManagement.Read.Directory",
        "Read all directory RBAC settings",
    ),
    ("741f803b-c850-494e-b5df-cde7c675a1ca", "User.ReadWrite.All", "Read and write all users' full profiles"),
    ("62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All", "Read and write all groups"),
    ("19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data"),
    ("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications"),
    (
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "AppRoleAssignment.ReadWrite.All",
        "Manage app permission grants and app role assignments",
    ),
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read", "Read mail in all mailboxes"),
    ("b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send", "Send mail as any user"),
    ("332a536c-c7ef-4017-ab91-336970924f0d", "Sites.Read.All", "Read items in all site collections"),
    ("01d4889c-1287-42c6-ac1f-5d1e02578ef6", "Files.Read.All", "Read files in all site collections"),
    ("b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read all audit log data"),
    ("230c1aed-a721-4c5d-9cb4-a90514e508ef", "Reports.Read.All", "Read all usage reports"),
    (
        "38d9df27-64da-44fd-b7c5-a6fbac20248f",
        "UserAuthenticationMethod.Read.All",
        "Read all users' authentication methods",
    ),
]
READ_ROLES = GRAPH_ROLES[:6]
# Microsoft Graph delegated permissions (oauth2PermissionScopes): id, value, admin consent needed.
GRAPH_SCOPES: list[tuple[str, str, bool]] = [
    ("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read", False),
    ("37f7f235-527c-4136-accd-4a02d197296e", "openid", False),
    ("14dad69e-099b-42c9-810b-d002981feec1", "profile", False),
    ("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "email", False),
    ("7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "offline_access", False),
    ("b340eb25-3456-403f-be2f-af7a0d370277", "User.ReadBasic.All", False),
    ("a154be20-db9c-4678-8ab7-66f6cc099a59", "User.Read.All", True),
    ("570282fd-fa5c-430d-a7fd-fc8dc98a9dca", "Mail.Read", False),
    ("e383f46e-2787-4529-855e-0e479a3ffac0", "Mail.Send", False),
    ("465a38f9-76ea-45b9-9f34-9e8b0d4b0b42", "Calendars.Read", False),
    ("df85f4d6-205c-4ac5-a5ea-6bf408dba283", "Files.Read.All", False),
    ("5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Group.Read.All", True),
    ("06da0dbc-49e2-44d2-8312-53f166ab848a", "Directory.Read.All", True),
]
SCOPE_IDS = {value: sid for sid, value, _ in GRAPH_SCOPES}

# First-party Microsoft service principals: appId, display name, service principal names.
FIRST_PARTY: list[tuple[str, str, list[str]]] = [
    (
        GRAPH_APP_ID,
        "Microsoft Graph",
        [
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/",
            "https://canary.graph.microsoft.com",
            GRAPH_APP_ID,
        ],
    ),
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
        [
            "https://outlook.office365.com/",
            "https://outlook.office.com",
            "00000002-0000-0ff1-ce00-000000000000",
        ],
    ),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
        ["https://microsoft.sharepoint-df.com", "00000003-0000-0ff1-ce00-000000000000"],
    ),
    (
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "Azure Portal",
        ["https://portal.azure.com/", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"],
    ),
    (
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "Windows Azure Service Management API",
        [
            "https://management.core.windows.net/",
            "https://management.azure.com/",
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        ],
    ),
    (
        "00000002-0000-0000-c000-000000000000",
        "Windows Azure Active Directory",
        ["https://graph.windows.net", "00000002-0000-0000-c000-000000000000"],
    ),
    (
        "14d82eec-204b-4c2f-b7e8-296a70dab67e",
        "Microsoft Graph Command Line Tools",
        ["14d82eec-204b-4c2f-b7e8-296a70dab67e"],
    ),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams", ["1fec8e78-bce4-4aaf-ab1b-5451cc387264"]),
]
GALLERY = [
    ("Salesforce", "salesforce.com"),
    ("ServiceNow", "service-now.com"),
    ("Box", "box.com"),
    ("Zoom", "zoom.us"),
    ("Slack", "slack.com"),
    ("DocuSign", "docusign.net"),
    ("Workday", "workday.com"),
    ("GitHub Enterprise Cloud - Organization", "github.com"),
    ("Atlassian Cloud", "atlassian.com"),
    ("Adobe Identity Management", "adobe.com"),
    ("AWS IAM Identity Center", "aws.amazon.com"),
    ("Dropbox Business", "dropbox.com"),
    ("Cisco Webex", "webex.com"),
    ("LinkedIn", "linkedin.com"),
    ("BrowserStack", "browserstack.com"),
    ("Miro", "miro.com"),
]
AUDIENCES = [
    "AzureADMyOrg",
    "AzureADMyOrg",
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
]
TAGS = [
    "WindowsAzureActiveDirectoryIntegratedApp",
    "HideApp",
    "WindowsAzureActiveDirectoryCustomSingleSignOnApplication",
    "WindowsAzureActiveDirectoryGalleryApplicationPrimaryV1",
    "WindowsAzureActiveDirectoryOnPremApp",
]
MI_RESOURCES = [
    ("Microsoft.Web/sites", "app"),
    ("Microsoft.Compute/virtualMachines", "vm"),
    ("Microsoft.Logic/workflows", "logic"),
    ("Microsoft.ContainerService/managedClusters", "aks"),
    ("Microsoft.ManagedIdentity/userAssignedIdentities", "id"),
    ("Microsoft.Automation/automationAccounts", "aa"),
]
INFO_EMPTY = {
    "termsOfServiceUrl": None,
    "supportUrl": None,
    "privacyStatementUrl": None,
    "marketingUrl": None,
    "logoUrl": None,
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _le(guid: str) -> bytes:
    """A GUID string's bytes in Microsoft's little-endian layout (uuid.UUID(guid).bytes_le, faster)."""
    h = guid.replace("-", "")
    return bytes.fromhex(
        h[6:8] + h[4:6] + h[2:4] + h[0:2] + h[10:12] + h[8:10] + h[14:16] + h[12:14] + h[16:]
    )


def _fast_uuid(ctx: Context) -> str:
    """A random version-4 GUID from the area's seeded stream, cheaper than _fast_uuid(ctx) for bulk objects."""
    h = f"{ctx.rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def assignment_id(principal_id: str, salt: bytes) -> str:
    """appRoleAssignment ids: the principal's GUID bytes then 16 more, base64url (43 characters)."""
    return _b64(_le(principal_id) + salt[:16])


def grant_id(client_id: str, resource_id: str, principal_id: str | None) -> str:
    """oAuth2PermissionGrant ids: client and resource GUID bytes (and the user's, for Principal consent)."""
    raw = _le(client_id) + _le(resource_id)
    if principal_id:
        raw += _le(principal_id)
    return _b64(raw)


def _role(rid: str, value: str, name: str, members: list[str], description: str | None = None) -> JSON:
    return {
        "allowedMemberTypes": members,
        "description": description
        or f"Allows the app to {name[0].lower()}{name[1:]} without a signed-in user.",
        "displayName": name,
        "id": rid,
        "isEnabled": True,
        "origin": "Application",
        "value": value,
    }


def _scope(sid: str, value: str, admin: bool, app_name: str = "Microsoft Graph") -> JSON:
    return {
        "adminConsentDescription": f"Allows the app to use {value} on behalf of the signed-in user.",
        "adminConsentDisplayName": f"{value} ({app_name})",
        "id": sid,
        "isEnabled": True,
        "type": "Admin" if admin else "User",
        "userConsentDescription": None if admin else f"Allows the app to use {value} on your behalf.",
        "userConsentDisplayName": None if admin else value,
        "value": value,
    }


def _password(ctx: Context, created: str) -> JSON:
    roll = ctx.rng.random()
    if roll < 0.25:
        end = ctx.time(400, 1)  # expired
    elif roll < 0.45:
        end = ctx.future(1, 30)  # expiring soon
    else:
        end = ctx.future(60, 720)
    return {
        "customKeyIdentifier": None,
        "displayName": None
        if ctx.chance(0.2)
        else ctx.pick(["Client secret", "CI pipeline", "prod", "rotation-2025"]),
        "endDateTime": end,
        "hint": ctx.pick(["Q~a", "7Zs", "mN8", "x~P", "Hk4"]),
        "keyId": _fast_uuid(ctx),
        "secretText": None,
        "startDateTime": created,
    }


def _certificate(ctx: Context, created: str, subject: str) -> JSON:
    thumbprint = bytes(ctx.rng.getrandbits(8) for _ in range(20))
    end = ctx.time(200, 1) if ctx.chance(0.2) else ctx.future(10, 1000)
    return {
        "customKeyIdentifier": thumbprint.hex().upper(),
        "displayName": f"CN={subject}",
        "endDateTime": end,
        "keyId": _fast_uuid(ctx),
        "startDateTime": created,
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    }


def _app_name(ctx: Context, index: int) -> str:
    words = ctx.rng.sample(APP_WORDS, 2)
    name = (
        f"{ctx.pick(['Contoso', 'Fabrikam', 'HR', 'Finance', 'IT', 'Legacy', 'Ops'])} {words[0]} {words[1]}"
    )
    if index % 53 == 0:
        return "Contoso Portal"  # duplicated display name
    if index % 211 == 7:
        return name + LONG_SUFFIX
    return f"{name} {index}" if ctx.chance(0.5) else name


def application_defaults(obj: JSON, domain: str) -> JSON:
    """Properties Graph fills in on a new application (application-post-applications example)."""
    defaults: JSON = {
        "deletedDateTime": None,
        "isFallbackPublicClient": None,
        "applicationTemplateId": None,
        "identifierUris": [],
        "disabledByMicrosoftStatus": None,
        "isDeviceOnlyAuthSupported": None,
        "groupMembershipClaims": None,
        "optionalClaims": None,
        "addIns": [],
        "publisherDomain": domain,
        "samlMetadataUrl": None,
        "signInAudience": "AzureADandPersonalMicrosoftAccount",
        "tags": [],
        "tokenEncryptionKeyId": None,
        "description": None,
        "notes": None,
        "serviceManagementReference": None,
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "certification": None,
        "api": {
            "requestedAccessTokenVersion": None,
            "acceptMappedClaims": None,
            "knownClientApplications": [],
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": [],
        },
        "appRoles": [],
        "publicClient": {"redirectUris": []},
        "info": dict(INFO_EMPTY),
        "keyCredentials": [],
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "requiredResourceAccess": [],
        "spa": {"redirectUris": []},
        "web": {
            "redirectUris": [],
            "homePageUrl": None,
            "logoutUrl": None,
            "redirectUriSettings": [],
            "implicitGrantSettings": {"enableIdTokenIssuance": False, "enableAccessTokenIssuance": False},
        },
    }
    for key, value in defaults.items():
        obj.setdefault(key, value)
    return obj


def application_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    if not isinstance(obj.get("displayName"), str) or not obj["displayName"]:
        raise bad_request("Property 'displayName' is required.", "Request_BadRequest")
    obj["appId"] = str(uuid.uuid4())
    obj.pop("passwordCredentials", None)  # secrets are added with addPassword, never on create
    return application_defaults(obj, store.domain)


def service_principal_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """POST /servicePrincipals {appId}: the SP of an application of this tenant (serviceprincipal-post)."""
    app_id = str(obj.get("appId") or "").lower()
    if not app_id:
        raise bad_request("Property 'appId' is required.", "Request_BadRequest")
    sps = store.set("servicePrincipals")
    if sps.index("appId").get(app_id):
        raise GraphError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property servicePrincipalNames already exists.",
        )
    apps = store.set("applications")
    found = apps.index("appId").get(app_id)
    if not found:
        raise bad_request(
            f"The appId '{app_id}' of the service principal does not reference a valid application object.",
            "Request_BadRequest",
        )
    app = apps.objects[found[0]]
    sp = _sp_from_app(app, obj["id"], store.tenant_id)
    sp.update({k: v for k, v in obj.items() if k not in {"appId"}})
    return sp


def _sp_from_app(app: JSON, sp_id: str, tenant_id: str) -> JSON:
    roles = [{**r, "origin": "Application"} for r in app.get("appRoles", [])]
    return {
        "id": sp_id,
        "deletedDateTime": None,
        "accountEnabled": True,
        "addIns": [],
        "alternativeNames": [],
        "appDescription": None,
        "appDisplayName": app["displayName"],
        "appId": app["appId"],
        "applicationTemplateId": app.get("applicationTemplateId"),
        "appOwnerOrganizationId": tenant_id,
        "appRoleAssignmentRequired": False,
        "appRoles": roles,
        "createdByAppId": None,
        "description": None,
        "disabledByMicrosoftStatus": None,
        "displayName": app["displayName"],
        "homepage": (app.get("web") or {}).get("homePageUrl"),
        "info": app.get("info") or dict(INFO_EMPTY),
        "keyCredentials": [],
        "loginUrl": None,
        "logoutUrl": (app.get("web") or {}).get("logoutUrl"),
        "notes": None,
        "notificationEmailAddresses": [],
        "oauth2PermissionScopes": list((app.get("api") or {}).get("oauth2PermissionScopes", [])),
        "passwordCredentials": [],
        "preferredSingleSignOnMode": None,
        "preferredTokenSigningKeyThumbprint": None,
        "replyUrls": list((app.get("web") or {}).get("redirectUris", [])),
        "resourceSpecificApplicationPermissions": [],
        "samlSingleSignOnSettings": None,
        "servicePrincipalNames": [*app.get("identifierUris", []), app["appId"]],
        "servicePrincipalType": "Application",
        "signInAudience": app.get("signInAudience"),
        "tags": list(app.get("tags", [])),
        "tokenEncryptionKeyId": None,
        "verifiedPublisher": app.get("verifiedPublisher")
        or {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
    }


def _principal(store: Store, principal_id: str) -> tuple[str, str]:
    found = store.resolve(principal_id)
    kinds = {"users": "User", "groups": "Group", "servicePrincipals": "ServicePrincipal"}
    if found is None or found[0] not in kinds:
        raise bad_request(
            f"Resource '{principal_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
            "Request_ResourceNotFound",
        )
    return kinds[found[0]], str(found[1].get("displayName"))


def assignment_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """POST …/appRoleAssignedTo or …/appRoleAssignments: checks principal, resource and app role."""
    for prop in ("principalId", "resourceId", "appRoleId"):
        if not isinstance(obj.get(prop), str):
            raise bad_request(f"Property '{prop}' is required.", "Request_BadRequest")
    principal_id, resource_id = obj["principalId"].lower(), obj["resourceId"].lower()
    sp_id = params["id"].lower()
    # appRoleAssignedTo is addressed by the resource SP; appRoleAssignments by the principal SP.
    if sp_id not in (principal_id, resource_id):
        raise bad_request(
            "The service principal in the URL must be the resource or the principal of the assignment.",
            "Request_BadRequest",
        )
    resource = store.set("servicePrincipals").get(resource_id)
    if resource is None:
        raise bad_request(
            f"Resource '{resource_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
            "Request_ResourceNotFound",
        )
    principal_type, principal_name = _principal(store, principal_id)
    role_id = obj["appRoleId"].lower()
    if role_id != DEFAULT_ROLE and not any(r.get("id") == role_id for r in resource.get("appRoles", [])):
        raise bad_request("Permission being assigned was not found on application", "Request_BadRequest")
    return {
        "id": assignment_id(principal_id, uuid.uuid4().bytes),
        "deletedDateTime": None,
        "appRoleId": role_id,
        "createdDateTime": obj.get("createdDateTime"),
        "principalDisplayName": principal_name,
        "principalId": principal_id,
        "principalType": principal_type,
        "resourceDisplayName": resource.get("displayName"),
        "resourceId": resource_id,
    }


def grant_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    sps = store.set("servicePrincipals")
    for prop in ("clientId", "resourceId", "consentType"):
        if not isinstance(obj.get(prop), str):
            raise bad_request(f"Property '{prop}' is required.", "Request_BadRequest")
    for prop in ("clientId", "resourceId"):
        if obj[prop].lower() not in sps:
            raise bad_request(
                f"Resource '{obj[prop]}' does not exist or one of its queried reference-property "
                "objects are not present.",
                "Request_ResourceNotFound",
            )
    principal = obj.get("principalId")
    if obj["consentType"] == "Principal":
        if not isinstance(principal, str) or principal.lower() not in store.set("users"):
            raise bad_request(
                "principalId must be a user when consentType is Principal.", "Request_BadRequest"
            )
    elif obj["consentType"] == "AllPrincipals":
        principal = None
    else:
        raise bad_request(f"Invalid consentType '{obj['consentType']}'.", "Request_BadRequest")
    obj["principalId"] = principal
    obj.setdefault("scope", "")
    obj["id"] = grant_id(obj["clientId"], obj["resourceId"], principal)
    return obj


def classification_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """permissionId must be one of the service principal's oauth2PermissionScopes (Graph answers 400)."""
    sp = store.set("servicePrincipals").get(params["id"]) or {}
    if obj.get("permissionId") not in {s.get("id") for s in sp.get("oauth2PermissionScopes") or []}:
        raise bad_request(
            "Permission (scope or role) cannot be found on the service principal.", "Request_BadRequest"
        )
    obj["id"] = _b64(uuid.uuid4().bytes + b"\x01")
    return obj


def extension_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    app = store.set("applications").get(params["id"])
    name = obj.get("name")
    if app is None or not isinstance(name, str):
        raise bad_request("Property 'name' is required.", "Request_BadRequest")
    obj["name"] = f"extension_{app['appId'].replace('-', '')}_{name}"
    obj.setdefault("dataType", "String")
    obj.setdefault("isMultiValued", False)
    obj["isSyncedFromOnPremises"] = False
    obj["appDisplayName"] = app.get("displayName")
    obj.setdefault("targetObjects", [])
    return obj


def _policy_links(owner: str, names: tuple[str, ...]) -> list[Resource]:
    return [
        Resource(
            f"/{owner}/{{id}}/{name}",
            "links",
            "microsoft.graph.directoryObject",
            POLICY_LINK_READ,
            write=POLICY_LINK_WRITE,
            methods=frozenset({"GET", "POST"}),
        )
        for name in names
    ]


NO_STAMP = {"stamps": ()}

RESOURCES = [
    Resource(
        "/applications",
        "set",
        "microsoft.graph.application",
        APP_READ,
        write=APP_WRITE,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "PATCH", "DELETE"}),
        cost=2,
        delta=True,
        soft_delete=True,
        directory_object=True,
        on_create=application_created,
        expand={
            "owners": Expansion("links", "applications/owners"),
            "extensionProperties": Expansion("contained", "applications/{id}/extensionProperties"),
            "federatedIdentityCredentials": Expansion(
                "contained", "applications/{id}/federatedIdentityCredentials"
            ),
        },
        extra={"read_only": ("appId", "publisherDomain")},
    ),
    Resource(
        "/applications/{id}/owners",
        "links",
        "microsoft.graph.directoryObject",
        APP_READ,
        write=APP_WRITE,
        methods=frozenset({"GET", "POST"}),
    ),
    Resource(
        "/applications/{id}/extensionProperties",
        "set",
        "microsoft.graph.extensionProperty",
        APP_READ,
        write=APP_WRITE,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "DELETE"}),
        cost=2,
        on_create=extension_created,
        extra=NO_STAMP,
    ),
    Resource(
        "/applications/{id}/federatedIdentityCredentials",
        "set",
        "microsoft.graph.federatedIdentityCredential",
        APP_READ,
        write=APP_WRITE,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "PATCH", "DELETE"}),
        extra=NO_STAMP,
    ),
    *_policy_links(
        "applications", ("tokenIssuancePolicies", "tokenLifetimePolicies", "appManagementPolicies")
    ),
    Resource(
        "/servicePrincipals",
        "set",
        "microsoft.graph.servicePrincipal",
        APP_READ,
        write=APP_WRITE,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "PATCH", "DELETE"}),
        delta=True,
        soft_delete=True,
        directory_object=True,
        on_create=service_principal_created,
        expand={
            "owners": Expansion("links", "servicePrincipals/owners"),
            # servicePrincipal.appRoleAssignedTo "Supports $expand"
            "appRoleAssignedTo": Expansion("view", "appRoleAssignments", "resourceId"),
        },
        extra={"read_only": ("appId",), "stamps": ()},
    ),
    Resource(
        "/servicePrincipals/{id}/owners",
        "links",
        "microsoft.graph.directoryObject",
        APP_READ,
        write=APP_WRITE,
        methods=frozenset({"GET", "POST"}),
    ),
    Resource(
        "/servicePrincipals/{id}/appRoleAssignments",
        "set",
        "microsoft.graph.appRoleAssignment",
        APP_READ,
        write=ASSIGNMENT_WRITE,
        source="appRoleAssignments",
        match=(("principalId", "id"),),
        cost=2,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "DELETE"}),
        on_create=assignment_created,
    ),
    Resource(
        "/servicePrincipals/{id}/appRoleAssignedTo",
        "set",
        "microsoft.graph.appRoleAssignment",
        APP_READ,
        write=ASSIGNMENT_WRITE,
        source="appRoleAssignments",
        match=(("resourceId", "id"),),
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "DELETE"}),
        on_create=assignment_created,
    ),
    Resource(
        "/servicePrincipals/{id}/oauth2PermissionGrants",
        "set",
        "microsoft.graph.oAuth2PermissionGrant",
        GRANT_READ,
        source="oauth2PermissionGrants",
        match=(("clientId", "id"),),
    ),
    Resource(
        "/servicePrincipals/{id}/delegatedPermissionClassifications",
        "set",
        "microsoft.graph.delegatedPermissionClassification",
        (*APP_READ, *CLASSIFICATION_WRITE),
        write=CLASSIFICATION_WRITE,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"DELETE"}),
        on_create=classification_created,
        extra=NO_STAMP,
    ),
    *_policy_links(
        "servicePrincipals",
        (
            "claimsMappingPolicies",
            "homeRealmDiscoveryPolicies",
            "tokenIssuancePolicies",
            "tokenLifetimePolicies",
        ),
    ),
    Resource(
        "/oauth2PermissionGrants",
        "set",
        "microsoft.graph.oAuth2PermissionGrant",
        GRANT_READ,
        write=GRANT_WRITE,
        methods=frozenset({"GET", "POST"}),
        item_methods=frozenset({"GET", "PATCH", "DELETE"}),
        cost=2,
        delta=True,
        on_create=grant_created,
        extra={"read_only": ("clientId", "resourceId", "consentType", "principalId"), "stamps": ()},
    ),
]


# --- generation ---------------------------------------------------------------------------------------


def _application(ctx: Context, index: int, graph_roles: list[tuple[str, str, str]]) -> JSON:
    rng = ctx.rng
    name = _app_name(ctx, index)
    app_id = _fast_uuid(ctx)
    created = ctx.time(1400, 3)
    audience = AUDIENCES[rng.randrange(len(AUDIENCES))]
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24] or "app"
    is_api = ctx.chance(0.3)
    is_spa = not is_api and ctx.chance(0.2)
    roles: list[JSON] = []
    scopes: list[JSON] = []
    identifier_uris: list[str] = []
    if is_api:
        identifier_uris = [f"api://{app_id}"]
        scopes = [_scope(_fast_uuid(ctx), "access_as_user", False, name)]
        roles = [
            _role(_fast_uuid(ctx), value, label, members, desc)
            for value, label, members, desc in (
                ("Reader", "Reader", ["User"], "Read-only access to the application."),
                ("Admin", "Administrator", ["User"], "Full administrative access to the application."),
                ("Data.Read.All", "Read all data", ["Application"], "Allows daemons to read all data."),
            )[: 1 + rng.randrange(3)]
        ]
    access: list[JSON] = []
    if ctx.chance(0.85):
        scope_ids = [SCOPE_IDS["User.Read"], *ctx.sample([s[0] for s in GRAPH_SCOPES[1:]], rng.randrange(4))]
        entries = [{"id": sid, "type": "Scope"} for sid in scope_ids]
        entries += [{"id": rid, "type": "Role"} for rid, _, _ in rng.sample(graph_roles, rng.randrange(3))]
        access.append({"resourceAppId": GRAPH_APP_ID, "resourceAccess": entries})
    passwords = [_password(ctx, created) for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 3]))]
    certificates = [_certificate(ctx, created, slug) for _ in range(rng.choice([0, 0, 0, 1, 1, 2]))]
    web_uris = (
        []
        if is_spa
        else [f"https://{slug}.{ctx.domain.split('.')[0]}.com/signin-oidc"]
        if ctx.chance(0.6)
        else []
    )
    verified = ctx.chance(0.1)
    app: JSON = {
        "id": _fast_uuid(ctx),
        "deletedDateTime": None,
        "addIns": [],
        "api": {
            "requestedAccessTokenVersion": 2 if is_api or ctx.chance(0.3) else None,
            "acceptMappedClaims": None,
            "knownClientApplications": [],
            "oauth2PermissionScopes": scopes,
            "preAuthorizedApplications": [],
        },
        "appId": app_id,
        "applicationTemplateId": None,
        "appRoles": roles,
        "certification": None,
        "createdDateTime": created,
        "defaultRedirectUri": None,
        "description": None if ctx.chance(0.7) else f"{name} registration owned by IT",
        "disabledByMicrosoftStatus": None,
        "displayName": name,
        "groupMembershipClaims": ctx.pick(["SecurityGroup", "All", "ApplicationGroup"])
        if ctx.chance(0.2)
        else None,
        "identifierUris": identifier_uris,
        "info": dict(INFO_EMPTY),
        "isDeviceOnlyAuthSupported": None,
        "isFallbackPublicClient": True if ctx.chance(0.05) else None,
        "keyCredentials": certificates,
        "notes": None,
        "optionalClaims": None,
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": passwords,
        "publicClient": {
            "redirectUris": (
                ["http://localhost", "ms-appx-web://microsoft.aad.brokerplugin/" + app_id]
                if ctx.chance(0.1)
                else []
            )
        },
        "publisherDomain": ctx.domain,
        "requiredResourceAccess": access,
        "samlMetadataUrl": None,
        "serviceManagementReference": None if ctx.chance(0.8) else f"SVC-{rng.randrange(1000, 9999)}",
        "signInAudience": audience,
        "spa": {"redirectUris": [f"https://{slug}.contoso.com/"] if is_spa else []},
        "tags": ["HideApp"] if ctx.chance(0.05) else [],
        "tokenEncryptionKeyId": None,
        "verifiedPublisher": {
            "displayName": "Contoso" if verified else None,
            "verifiedPublisherId": "4513927" if verified else None,
            "addedDateTime": created if verified else None,
        },
        "web": {
            "homePageUrl": f"https://{slug}.contoso.com/" if web_uris else None,
            "implicitGrantSettings": {
                "enableAccessTokenIssuance": False,
                "enableIdTokenIssuance": bool(web_uris) and ctx.chance(0.3),
            },
            "logoutUrl": None,
            "redirectUriSettings": [],
            "redirectUris": web_uris,
        },
    }
    return app


def _first_party(ctx: Context, app_id: str, name: str, names: list[str]) -> JSON:
    roles: list[JSON] = []
    scopes: list[JSON] = []
    if app_id == GRAPH_APP_ID:
        roles = [_role(rid, value, label, ["Application"]) for rid, value, label in GRAPH_ROLES]
        scopes = [_scope(sid, value, admin) for sid, value, admin in GRAPH_SCOPES]
    return {
        "id": _fast_uuid(ctx),
        "deletedDateTime": None,
        "accountEnabled": True,
        "addIns": [],
        "alternativeNames": [],
        "appDescription": None,
        "appDisplayName": name,
        "appId": app_id,
        "applicationTemplateId": None,
        "appOwnerOrganizationId": MICROSOFT_TENANT,
        "appRoleAssignmentRequired": False,
        "appRoles": roles,
        "createdByAppId": None,
        "description": None,
        "disabledByMicrosoftStatus": None,
        "displayName": name,
        "homepage": None,
        "info": dict(INFO_EMPTY),
        "keyCredentials": [],
        "loginUrl": None,
        "logoutUrl": None,
        "notes": None,
        "notificationEmailAddresses": [],
        "oauth2PermissionScopes": scopes,
        "passwordCredentials": [],
        "preferredSingleSignOnMode": None,
        "preferredTokenSigningKeyThumbprint": None,
        "replyUrls": [],
        "resourceSpecificApplicationPermissions": [],
        "samlSingleSignOnSettings": None,
        "servicePrincipalNames": names,
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "tokenEncryptionKeyId": None,
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
    }


def _gallery(ctx: Context, index: int) -> JSON:
    name, host = GALLERY[index % len(GALLERY)]
    if index >= len(GALLERY):
        name = f"{name} ({ctx.pick(['Prod', 'Sandbox', 'EU', 'US', 'Test'])} {index // len(GALLERY)})"
    app_id = _fast_uuid(ctx)
    saml = ctx.chance(0.5)
    created = ctx.time(1400, 3)
    sp = _first_party(ctx, app_id, name, [f"https://{host}/", app_id])
    sp.update(
        {
            "appOwnerOrganizationId": _fast_uuid(ctx),
            "applicationTemplateId": _fast_uuid(ctx) if saml else None,
            "appRoleAssignmentRequired": ctx.chance(0.6),
            "appRoles": [_role(_fast_uuid(ctx), "User", "User", ["User"], "User")] if saml else [],
            "homepage": f"https://www.{host}/",
            "loginUrl": f"https://login.{host}/" if saml else None,
            "notificationEmailAddresses": [f"it-apps@{ctx.domain}"] if saml else [],
            "keyCredentials": [_certificate(ctx, created, "Microsoft Azure Federated SSO Certificate")]
            if saml
            else [],
            "preferredSingleSignOnMode": "saml" if saml else None,
            "preferredTokenSigningKeyThumbprint": None,
            "replyUrls": [f"https://{host}/saml/acs"] if saml else [f"https://{host}/oauth/callback"],
            "tags": (
                [
                    "WindowsAzureActiveDirectoryIntegratedApp",
                    "WindowsAzureActiveDirectoryCustomSingleSignOnApplication",
                ]
                if saml
                else ["WindowsAzureActiveDirectoryIntegratedApp"]
            ),
            "verifiedPublisher": {
                "displayName": name.split(" (")[0],
                "verifiedPublisherId": str(ctx.rng.randrange(10**6, 10**7)),
                "addedDateTime": created,
            },
        }
    )
    if saml:
        sp["preferredTokenSigningKeyThumbprint"] = sp["keyCredentials"][0]["customKeyIdentifier"]
    return sp


def _managed_identity(ctx: Context, index: int) -> JSON:
    provider, prefix = MI_RESOURCES[index % len(MI_RESOURCES)]
    name = f"{prefix}-{ctx.pick(['contoso', 'payroll', 'web', 'data', 'ops'])}-{index}"
    app_id = _fast_uuid(ctx)
    sub = _fast_uuid(ctx)
    resource = f"/subscriptions/{sub}/resourcegroups/rg-{prefix}/providers/{provider}/{name}"
    sp = _first_party(
        ctx, app_id, name, [app_id, f"https://identity.azure.net/{_b64(ctx.rng.randbytes(24))}"]
    )
    sp.update(
        {
            "alternativeNames": [f"isExplicit={'True' if 'userAssigned' in provider else 'False'}", resource],
            "appDisplayName": None,
            "appOwnerOrganizationId": None,
            "servicePrincipalType": "ManagedIdentity",
            "signInAudience": None,  # UNVERIFIED: what Graph shows for managed identities
            "keyCredentials": [_certificate(ctx, ctx.time(90, 1), app_id)],
        }
    )
    return sp


def _fic(ctx: Context, app_id: str, tenant_id: str) -> JSON:
    if ctx.chance(0.6):
        repo = f"contoso/{ctx.pick(['webapp', 'infra', 'payroll-api', 'data-pipeline'])}"
        subject = ctx.pick(
            [
                f"repo:{repo}:environment:Production",
                f"repo:{repo}:ref:refs/heads/main",
                f"repo:{repo}:pull_request",
            ]
        )
        issuer, name = "https://token.actions.githubusercontent.com", f"github-{repo.split('/')[1]}"
        description = "GitHub Actions deployment"
    else:
        region = ctx.pick(["eastus", "westeurope", "northeurope", "australiaeast"])
        issuer = f"https://{region}.oic.prod-aks.azure.com/{tenant_id}/{_fast_uuid(ctx)}/"
        namespace = ctx.pick(["default", "payroll", "ingress", "monitoring"])
        subject, name = f"system:serviceaccount:{namespace}:workload-identity-sa", f"aks-{namespace}"
        description = "AKS workload identity"
    return {
        "id": _fast_uuid(ctx),
        "audiences": [TOKEN_EXCHANGE],
        "description": description,
        "issuer": issuer,
        "name": name,
        "subject": subject,
    }


def _assignment(ctx: Context, principal: JSON, principal_type: str, resource: JSON, role_id: str) -> JSON:
    return {
        "id": assignment_id(principal["id"], ctx.rng.randbytes(16)),
        "deletedDateTime": None,
        "appRoleId": role_id,
        "createdDateTime": ctx.time(700, 1),
        "principalDisplayName": principal.get("displayName"),
        "principalId": principal["id"],
        "principalType": principal_type,
        "resourceDisplayName": resource.get("displayName"),
        "resourceId": resource["id"],
    }


def populate(store: Store, ctx: Context) -> None:
    """Applications with their SPs, first-party, gallery and managed-identity SPs, assignments and grants."""
    # Many small dicts on top of a large tenant: the cyclic GC would rescan everything repeatedly.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _populate(store, ctx)
    finally:
        if was_enabled:
            gc.enable()


def _populate(store: Store, ctx: Context) -> None:
    plan, rng = ctx.plan, ctx.rng
    users = store.set("users")
    groups = store.set("groups")
    user_ids = users.ids()
    group_ids = groups.ids()
    members = [u for u in user_ids if users.objects[u].get("userType") == "Member"] or user_ids

    # First-party Microsoft SPs first: the Graph SP is the resource of permissions and grants.
    sps: list[JSON] = []
    for app_id, name, names in FIRST_PARTY:
        sps.append(
            store.add("servicePrincipals", _first_party(ctx, app_id, name, names), directory_object=True)
        )
    graph_sp = sps[0]

    apps: list[JSON] = []
    app_sps: list[JSON] = []
    for index in range(plan.applications):
        app = store.add("applications", _application(ctx, index, GRAPH_ROLES), directory_object=True)
        apps.append(app)
        sp = _sp_from_app(app, _fast_uuid(ctx), ctx.tenant_id)
        if app["appRoles"] and ctx.chance(0.5):
            sp["appRoleAssignmentRequired"] = True
        if app["tags"]:
            sp["tags"] = [*sp["tags"], "WindowsAzureActiveDirectoryIntegratedApp"]
        app_sps.append(store.add("servicePrincipals", sp, directory_object=True))

    remaining = max(0, plan.service_principals - len(sps) - len(app_sps))
    identities = remaining // 4
    for index in range(identities):
        sps.append(store.add("servicePrincipals", _managed_identity(ctx, index), directory_object=True))
    gallery: list[JSON] = []
    for index in range(remaining - identities):
        gallery.append(store.add("servicePrincipals", _gallery(ctx, index), directory_object=True))

    # Owners: apps and their SPs are owned by one or two members (some by nobody, some by an SP).
    for app, sp in zip(apps, app_sps, strict=True):
        if members and not ctx.chance(0.1):
            for uid in ctx.sample(members, 1 + (rng.random() < 0.3)):
                store.link("applications/owners", app["id"], uid)
                if ctx.chance(0.5):
                    store.link("servicePrincipals/owners", sp["id"], uid)
        if ctx.chance(0.03) and app_sps:
            owner = app_sps[rng.randrange(len(app_sps))]
            if owner["id"] != sp["id"]:
                store.link("applications/owners", app["id"], owner["id"])

    # Extension properties and federated identity credentials on some apps.
    for app in apps:
        if ctx.chance(0.05):
            for prop in ctx.sample(
                ["employeeBadge", "costCenterCode", "legacyId", "clearance"], 1 + rng.randrange(2)
            ):
                store.add(
                    f"applications/{app['id']}/extensionProperties",
                    {
                        "id": _fast_uuid(ctx),
                        "deletedDateTime": None,
                        "appDisplayName": app["displayName"],
                        "dataType": ctx.pick(["String", "String", "Integer", "Boolean"]),
                        "isMultiValued": False,
                        "isSyncedFromOnPremises": False,
                        "name": f"extension_{app['appId'].replace('-', '')}_{prop}",
                        "targetObjects": ["User"] if ctx.chance(0.8) else ["User", "Group"],
                    },
                    directory_object=True,
                )
        if ctx.chance(0.08):
            for _ in range(1 + rng.randrange(2)):
                store.add(
                    f"applications/{app['id']}/federatedIdentityCredentials",
                    _fic(ctx, app["appId"], ctx.tenant_id),
                )

    # Policies the policies area created, linked to a few apps and SPs.
    all_sp_ids = [sp["id"] for sp in app_sps + gallery]
    for name, owners in (
        ("tokenIssuancePolicies", ("applications", "servicePrincipals")),
        ("tokenLifetimePolicies", ("applications", "servicePrincipals")),
        ("appManagementPolicies", ("applications",)),
        ("claimsMappingPolicies", ("servicePrincipals",)),
        ("homeRealmDiscoveryPolicies", ("servicePrincipals",)),
    ):
        policies = store.sets.get(f"policies/{name}")
        policy_ids = policies.ids() if policies else []
        if not policy_ids:
            continue
        for holder in owners:
            pool = [a["id"] for a in apps] if holder == "applications" else all_sp_ids
            for object_id in ctx.sample(pool, max(1, len(pool) // 40)):
                store.link(f"{holder}/{name}", object_id, ctx.pick(policy_ids))

    # Delegated permission classifications on the Graph SP.
    for sid, value, _admin in GRAPH_SCOPES[:6]:
        store.add(
            f"servicePrincipals/{graph_sp['id']}/delegatedPermissionClassifications",
            {
                "id": _b64(ctx.rng.randbytes(17)),
                "classification": "low",
                "permissionId": sid,
                "permissionName": value,
            },
        )

    # App role assignments: users and groups to apps' roles, and Graph application permissions to apps.
    role_holders = [(sp, app) for sp, app in zip(app_sps, apps, strict=True)] + [(sp, None) for sp in gallery]
    for sp, _app in role_holders:
        if not ctx.chance(0.35) or not user_ids:
            continue
        user_roles = [r["id"] for r in sp["appRoles"] if "User" in r["allowedMemberTypes"]] or [DEFAULT_ROLE]
        for uid in ctx.sample(user_ids, 1 + int(rng.expovariate(1 / 6))):
            store.add(
                "appRoleAssignments", _assignment(ctx, users.objects[uid], "User", sp, ctx.pick(user_roles))
            )
        for gid in ctx.sample(group_ids, rng.randrange(3)):
            store.add(
                "appRoleAssignments", _assignment(ctx, groups.objects[gid], "Group", sp, ctx.pick(user_roles))
            )
    graph_role_ids = {r["id"] for r in graph_sp["appRoles"]}
    for app, sp in zip(apps, app_sps, strict=True):
        wanted = [
            e["id"]
            for access in app["requiredResourceAccess"]
            if access["resourceAppId"] == GRAPH_APP_ID
            for e in access["resourceAccess"]
            if e["type"] == "Role" and e["id"] in graph_role_ids
        ]
        if wanted and ctx.chance(0.8):  # admin consent granted
            for rid in wanted:
                store.add("appRoleAssignments", _assignment(ctx, sp, "ServicePrincipal", graph_sp, rid))
    for sp in sps:  # a few managed identities read the directory
        if sp["servicePrincipalType"] == "ManagedIdentity" and ctx.chance(0.3):
            for rid, _, _ in ctx.rng.sample(READ_ROLES, 1 + rng.randrange(2)):
                store.add("appRoleAssignments", _assignment(ctx, sp, "ServicePrincipal", graph_sp, rid))

    # Delegated grants: admin consent (AllPrincipals) and user consent (Principal) for apps' Graph scopes.
    scope_names = {sid: value for sid, value, _ in GRAPH_SCOPES}
    for app, sp in zip(apps, app_sps, strict=True):
        scopes = [
            scope_names[e["id"]]
            for access in app["requiredResourceAccess"]
            if access["resourceAppId"] == GRAPH_APP_ID
            for e in access["resourceAccess"]
            if e["type"] == "Scope" and e["id"] in scope_names
        ]
        if not scopes or not ctx.chance(0.6):
            continue
        if ctx.chance(0.6) or not members:
            store.add(
                "oauth2PermissionGrants",
                {
                    "id": grant_id(sp["id"], graph_sp["id"], None),
                    "clientId": sp["id"],
                    "consentType": "AllPrincipals",
                    "principalId": None,
                    "resourceId": graph_sp["id"],
                    "scope": " ".join(scopes),
                },
            )
        else:
            for uid in ctx.sample(members, 1 + rng.randrange(3)):
                user_scopes = [
                    s
                    for s in scopes
                    if s
                    in {
                        "User.Read",
                        "openid",
                        "profile",
                        "email",
                        "offline_access",
                        "Mail.Read",
                        "Calendars.Read",
                    }
                ] or ["User.Read"]
                store.add(
                    "oauth2PermissionGrants",
                    {
                        "id": grant_id(sp["id"], graph_sp["id"], uid),
                        "clientId": sp["id"],
                        "consentType": "Principal",
                        "principalId": uid,
                        "resourceId": graph_sp["id"],
                        "scope": " ".join(user_scopes),
                    },
                )
    # First-party clients with tenant-wide consent, as in real tenants (e.g. Graph Command Line Tools).
    for sp in sps[1:]:
        if sp["appId"] == "14d82eec-204b-4c2f-b7e8-296a70dab67e":
            store.add(
                "oauth2PermissionGrants",
                {
                    "id": grant_id(sp["id"], graph_sp["id"], None),
                    "clientId": sp["id"],
                    "consentType": "AllPrincipals",
                    "principalId": None,
                    "resourceId": graph_sp["id"],
                    "scope": "openid profile User.Read offline_access Directory.Read.All",
                },
            )
