"""External identities: identity providers, API connectors, B2B self-service sign-up user flows, user flow
attributes and custom authentication extensions.

Endpoints: https://learn.microsoft.com/graph/api/resources/identitycontainer and the pages it links
(identityproviderbase, identityapiconnector, b2xidentityuserflow, identityuserflowattribute,
customauthenticationextension). These collections are small; Graph returns them in one response.
"""

from __future__ import annotations

from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.odata import bad_request
from entrasnap.fakegraph.resource import Expansion, Resource
from entrasnap.fakegraph.state import JSON, Store

PROVIDERS = "identity/identityProviders"
CONNECTORS = "identity/apiConnectors"
FLOWS = "identity/b2xUserFlows"
ATTRIBUTES = "identity/userFlowAttributes"
EXTENSIONS = "identity/customAuthenticationExtensions"

# Application permissions: IdentityProvider.* and IdentityUserFlow.* VERIFIED (learn list pages);
# APIConnectors.* and CustomAuthenticationExtension.* UNVERIFIED (facts-policies.md section 3).
PROVIDER_READ = ("IdentityProvider.Read.All", "IdentityProvider.ReadWrite.All")
PROVIDER_WRITE = ("IdentityProvider.ReadWrite.All",)
FLOW_READ = ("IdentityUserFlow.Read.All", "IdentityUserFlow.ReadWrite.All")
FLOW_WRITE = ("IdentityUserFlow.ReadWrite.All",)
CONNECTOR_READ = ("APIConnectors.Read.All", "APIConnectors.ReadWrite.All")
CONNECTOR_WRITE = ("APIConnectors.ReadWrite.All",)
EXTENSION_READ = ("CustomAuthenticationExtension.Read.All", "CustomAuthenticationExtension.ReadWrite.All")
EXTENSION_WRITE = ("CustomAuthenticationExtension.ReadWrite.All",)
CRUD = frozenset({"GET", "POST"})
ITEM_RW = frozenset({"GET", "PATCH", "DELETE"})
PROVIDER_TYPES = {
    "#microsoft.graph.socialIdentityProvider",
    "#microsoft.graph.builtInIdentityProvider",
    "#microsoft.graph.appleManagedIdentityProvider",
    "#microsoft.graph.oidcIdentityProvider",
}


def provider_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    kind = "#" + str(obj.get("@odata.type", "")).lstrip("#")
    if kind not in PROVIDER_TYPES:
        raise bad_request("The '@odata.type' of an identity provider is required.", "BadRequest")
    obj["@odata.type"] = kind
    obj.pop("createdDateTime", None)
    if kind == "#microsoft.graph.socialIdentityProvider":
        provider_type = str(obj.get("identityProviderType") or "")
        obj["id"] = f"{provider_type}-OAUTH"
        if obj["id"] in store.set(PROVIDERS):
            raise bad_request(f"An identity provider of type '{provider_type}' already exists.", "BadRequest")
        obj["clientSecret"] = "******"  # write-only: Graph masks it
    return obj


def attribute_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """Custom attributes: Graph names them extension_<b2c-extensions-app id without dashes>_<name>."""
    name = str(obj.get("displayName") or "")
    if not name or obj.get("dataType") not in {"string", "boolean", "int64", "stringCollection", "dateTime"}:
        raise bad_request("Properties 'displayName' and a valid 'dataType' are required.", "BadRequest")
    obj.pop("createdDateTime", None)
    custom = [o["id"] for o in store.set(ATTRIBUTES).after() if o.get("userFlowAttributeType") == "custom"]
    app = custom[0].split("_")[1] if custom else "0" * 32  # the b2c-extensions-app's appId, without dashes
    obj["id"] = f"extension_{app}_{name.replace(' ', '')}"
    obj["@odata.type"] = "#microsoft.graph.identityCustomUserFlowAttribute"
    obj["userFlowAttributeType"] = "custom"
    obj.setdefault("description", None)
    return obj


def attribute_deleted(store: Store, obj: JSON) -> None:
    if obj.get("userFlowAttributeType") != "custom":
        raise bad_request("Built-in user flow attributes cannot be deleted.", "BadRequest")


def connector_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj.pop("createdDateTime", None)
    auth = obj.get("authenticationConfiguration")
    if isinstance(auth, dict) and "password" in auth:
        auth["password"] = "******"
    return obj


def extension_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    if str(obj.get("@odata.type", "")).lstrip("#") != "microsoft.graph.onTokenIssuanceStartCustomExtension":
        raise bad_request("The '@odata.type' of a custom authentication extension is required.", "BadRequest")
    obj.pop("createdDateTime", None)
    obj["@odata.type"] = "#microsoft.graph.onTokenIssuanceStartCustomExtension"
    for key in ("description", "behaviorOnError", "clientConfiguration"):
        obj.setdefault(key, None)
    return obj


def _set(path: str, type_: str, read: tuple[str, ...], write: tuple[str, ...], **kwargs: object) -> Resource:
    kwargs.setdefault("page_size", None)
    kwargs.setdefault("extra", {"stamps": ()})
    return Resource(path, "set", type_, read, write, **kwargs)  # type: ignore[arg-type]


FLOW_CHILD = "/identity/b2xUserFlows/{id}/"
RESOURCES = [
    _set(
        "/identity/identityProviders",
        "microsoft.graph.identityProviderBase",
        PROVIDER_READ,
        PROVIDER_WRITE,
        methods=CRUD,
        item_methods=ITEM_RW,
        on_create=provider_created,
    ),
    _set(
        "/identity/apiConnectors",
        "microsoft.graph.identityApiConnector",
        CONNECTOR_READ,
        CONNECTOR_WRITE,
        methods=CRUD,
        item_methods=ITEM_RW,
        on_create=connector_created,
    ),
    _set(
        "/identity/b2xUserFlows",
        "microsoft.graph.b2xIdentityUserFlow",
        FLOW_READ,
        FLOW_WRITE,
        item_methods=ITEM_RW,
        expand={
            "userFlowIdentityProviders": Expansion("contained", FLOWS + "/{id}/userFlowIdentityProviders"),
            "languages": Expansion("contained", FLOWS + "/{id}/languages"),
            "userAttributeAssignments": Expansion("contained", FLOWS + "/{id}/userAttributeAssignments"),
        },
    ),
    _set(
        FLOW_CHILD + "userFlowIdentityProviders",
        "microsoft.graph.identityProviderBase",
        FLOW_READ,
        FLOW_WRITE,
    ),
    _set(
        FLOW_CHILD + "languages",
        "microsoft.graph.userFlowLanguageConfiguration",
        FLOW_READ,
        FLOW_WRITE,
        item_methods=frozenset({"GET", "PATCH"}),
    ),
    _set(
        FLOW_CHILD + "userAttributeAssignments",
        "microsoft.graph.identityUserFlowAttributeAssignment",
        FLOW_READ,
        FLOW_WRITE,
        item_methods=ITEM_RW,
        expand={"userAttribute": Expansion("ref", ATTRIBUTES, "id")},
    ),
    _set(
        "/identity/userFlowAttributes",
        "microsoft.graph.identityUserFlowAttribute",
        FLOW_READ,
        FLOW_WRITE,
        methods=CRUD,
        item_methods=ITEM_RW,
        on_create=attribute_created,
        on_delete=attribute_deleted,
    ),
    _set(
        "/identity/customAuthenticationExtensions",
        "microsoft.graph.customAuthenticationExtension",
        EXTENSION_READ,
        EXTENSION_WRITE,
        methods=CRUD,
        item_methods=ITEM_RW,
        on_create=extension_created,
    ),
]

BUILT_IN_ATTRIBUTES = [
    ("city", "City", "The city in which the user is located."),
    ("country", "Country/Region", "The country/region in which the user is located."),
    ("displayName", "Display Name", "Display Name of the User."),
    ("email", "Email Address", "Email address of the user."),
    ("givenName", "Given Name", "The user's given name (also known as first name)."),
    ("jobTitle", "Job Title", "The user's job title."),
    ("postalCode", "Postal Code", "The postal code of the user's address."),
    ("state", "State/Province", "The state or province in user's address."),
    ("streetAddress", "Street Address", "The street address where the user is located."),
    ("surname", "Surname", "The user's surname (also known as family name or last name)."),
]


def populate(store: Store, ctx: Context) -> None:
    """A workforce tenant with B2B self-service sign-up: Google, Facebook, email OTP, two partner flows."""
    providers: list[JSON] = [
        {
            "@odata.type": "#microsoft.graph.builtInIdentityProvider",
            "id": "AADSignup-OAUTH",
            "displayName": "Azure Active Directory Sign up",
            "identityProviderType": "AADSignup",
        },
        {
            "@odata.type": "#microsoft.graph.builtInIdentityProvider",
            "id": "EmailOtpSignup-OAUTH",
            "displayName": "Email One Time Passcode",
            "identityProviderType": "EmailOTP",
        },
        {
            "@odata.type": "#microsoft.graph.builtInIdentityProvider",
            "id": "MSASignup-OAUTH",
            "displayName": "MicrosoftAccount",
            "identityProviderType": "MicrosoftAccount",
        },
        {
            "@odata.type": "#microsoft.graph.socialIdentityProvider",
            "id": "Google-OAUTH",
            "displayName": "Google",
            "identityProviderType": "Google",
            "clientId": f"{ctx.rng.randrange(10**11, 10**12)}-"
            f"{ctx.uuid().replace('-', '')[:32]}.apps.googleusercontent.com",
            "clientSecret": "******",
        },
        {
            "@odata.type": "#microsoft.graph.socialIdentityProvider",
            "id": "Facebook-OAUTH",
            "displayName": "Facebook",
            "identityProviderType": "Facebook",
            "clientId": str(ctx.rng.randrange(10**14, 10**15)),
            "clientSecret": "******",
        },
    ]
    for provider in providers:
        store.add(PROVIDERS, provider)
    sps = store.sets.get("servicePrincipals")
    extensions_app = (
        next((o for o in sps.after() if str(o.get("displayName", "")).startswith("b2c-extensions-app")), None)
        if sps
        else None
    )
    app_id = str(extensions_app["appId"]) if extensions_app else ctx.uuid()
    for key, name, description in BUILT_IN_ATTRIBUTES:
        store.add(
            ATTRIBUTES,
            {
                "@odata.type": "#microsoft.graph.identityBuiltInUserFlowAttribute",
                "id": key,
                "displayName": name,
                "description": description,
                "userFlowAttributeType": "builtIn",
                "dataType": "string",
            },
        )
    for name, data_type, description in (
        ("PartnerCompany", "string", "The partner organisation"),
        ("AcceptsMarketing", "boolean", "Opted in to partner news"),
    ):
        store.add(
            ATTRIBUTES,
            {
                "@odata.type": "#microsoft.graph.identityCustomUserFlowAttribute",
                "id": f"extension_{app_id.replace('-', '')}_{name}",
                "displayName": name,
                "description": description,
                "userFlowAttributeType": "custom",
                "dataType": data_type,
            },
        )
    connectors = [
        {
            "id": ctx.uuid(),
            "displayName": "Partner approval check",
            "targetUrl": "https://partners.contoso.com/api/approve",
            "authenticationConfiguration": {
                "@odata.type": "#microsoft.graph.basicAuthentication",
                "username": "b2b-signup",
                "password": "******",
            },
        },
        {
            "id": ctx.uuid(),
            "displayName": "Enrich partner profile",
            "targetUrl": "https://partners.contoso.com/api/enrich",
            "authenticationConfiguration": {
                "@odata.type": "#microsoft.graph.clientCertificateAuthentication",
                "certificateList": [
                    {
                        "thumbprint": ctx.uuid().replace("-", "")[:40].upper(),
                        "notAfter": 1893456000,
                        "notBefore": 1735689600,
                        "isActive": True,
                    }
                ],
            },
        },
    ]
    for connector in connectors:
        store.add(CONNECTORS, connector)
    attribute_ids = [o["id"] for o in store.set(ATTRIBUTES).after()]
    for name, idps in (
        ("PartnerSignUp", ["EmailOtpSignup-OAUTH", "Google-OAUTH", "Facebook-OAUTH"]),
        ("SupplierOnboarding", ["AADSignup-OAUTH", "MSASignup-OAUTH"]),
    ):
        flow_id = f"B2X_1_{name}"
        store.add(
            FLOWS,
            {
                "id": flow_id,
                "userFlowType": "signUpOrSignIn",
                "userFlowTypeVersion": 1.0,
                "apiConnectorConfiguration": {},
            },
        )
        for idp in idps:
            store.add(
                f"{FLOWS}/{flow_id}/userFlowIdentityProviders", dict(store.sets[PROVIDERS].objects[idp])
            )
        for code, language in (("en", "English"), ("fr", "French"), ("de", "German")):
            store.add(
                f"{FLOWS}/{flow_id}/languages",
                {"id": code, "displayName": language, "isEnabled": code == "en" or ctx.chance(0.5)},
            )
        for attribute_id in ["email", "displayName", *ctx.sample(attribute_ids, 3)]:
            attribute = store.sets[ATTRIBUTES].objects[attribute_id]
            key = f"{FLOWS}/{flow_id}/userAttributeAssignments"
            if attribute_id in store.set(key):
                continue
            boolean = attribute["dataType"] == "boolean"
            store.add(
                key,
                {
                    "id": attribute_id,
                    "displayName": attribute["displayName"],
                    "isOptional": attribute_id not in {"email", "displayName"},
                    "requiresVerification": attribute_id == "email",
                    "userInputType": "checkboxSingleSelect"
                    if boolean
                    else ("emailBox" if attribute_id == "email" else "textBox"),
                    "userAttributeValues": [{"name": "Yes", "value": "true", "isDefault": False}]
                    if boolean
                    else [],
                },
            )
    client_apps = [o for o in sps.after() if o.get("servicePrincipalType") == "Application"] if sps else []
    resource_app = client_apps[0]["appId"] if client_apps else ctx.uuid()
    store.add(
        EXTENSIONS,
        {
            "@odata.type": "#microsoft.graph.onTokenIssuanceStartCustomExtension",
            "id": ctx.uuid(),
            "displayName": "Add HR attributes to tokens",
            "description": "Calls the HR API for cost centre and grade",
            "endpointConfiguration": {
                "@odata.type": "#microsoft.graph.httpRequestEndpoint",
                "targetUrl": "https://hr-claims.contoso.com/api/tokenstart",
            },
            "authenticationConfiguration": {
                "@odata.type": "#microsoft.graph.azureAdTokenAuthentication",
                "resourceId": f"api://hr-claims.contoso.com/{resource_app}",
            },
            "clientConfiguration": {"timeoutInMilliseconds": 2000, "maximumRetries": 1},
            "behaviorOnError": None,
            "claimsForTokenConfiguration": [
                {"claimIdInApiResponse": "CostCenter"},
                {"claimIdInApiResponse": "Grade"},
            ],
        },
    )
