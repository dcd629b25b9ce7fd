"""Conditional Access: policies, named locations, authentication contexts and strengths, deleted items.

Endpoints: https://learn.microsoft.com/graph/api/resources/conditionalaccessroot,
.../resources/conditionalaccesspolicy, .../resources/namedlocation,
.../resources/authenticationcontextclassreference, .../resources/authenticationstrengthpolicy and (beta pages)
.../resources/capoliciesdeletableroot. Every ``/identity/conditionalAccess`` endpoint shares Graph's
"identity protection and conditional access" limit of one request per second per tenant (429 without
Retry-After) and needs Microsoft Entra ID P1.

One object is stored per policy, carrying the beta-complete shape; the v1.0 endpoints hide the beta-only
properties at render time (``extra["strip"]``) and beta hides ``templateId``, which only v1.0 has.
"""

from __future__ import annotations

import copy
from typing import Any

from entrasnap.fakegraph import licensing
from entrasnap.fakegraph.context import Context
from entrasnap.fakegraph.engine import Engine, Request, Response
from entrasnap.fakegraph.odata import GraphError, bad_request, not_found
from entrasnap.fakegraph.resource import BETA, P1, P2, V1, Resource
from entrasnap.fakegraph.router import Match
from entrasnap.fakegraph.state import JSON, Store, isotime

CA = "identity/conditionalAccess"
POLICIES = f"{CA}/policies"
LOCATIONS = f"{CA}/namedLocations"
CONTEXTS = f"{CA}/authenticationContextClassReferences"
STRENGTHS = "policies/authenticationStrengthPolicies"
DELETED_POLICIES = f"{CA}/deletedItems/policies"
DELETED_LOCATIONS = f"{CA}/deletedItems/namedLocations"

# Permissions (facts-policies.md section 1; application permissions).
CA_READ = ("Policy.Read.All",)
CA_WRITE = ("Policy.ReadWrite.ConditionalAccess",)
CONTEXT_READ = (
    "AuthenticationContext.Read.All",
    "AuthenticationContext.ReadWrite.All",
    "Policy.Read.ConditionalAccess",
    "Policy.ReadWrite.ConditionalAccess",
)
CONTEXT_WRITE = ("AuthenticationContext.ReadWrite.All", "Policy.ReadWrite.ConditionalAccess")
STRENGTH_READ = (
    "Policy.Read.AuthenticationMethod",
    "Policy.Read.All",
    "Policy.ReadWrite.AuthenticationMethod",
    "Policy.ReadWrite.ConditionalAccess",
)
STRENGTH_WRITE = ("Policy.ReadWrite.ConditionalAccess", "Policy.ReadWrite.AuthenticationMethod")
ALL = frozenset({"GET", "POST"})
ITEM_RW = frozenset({"GET", "PATCH", "DELETE"})

# Properties only beta has (SCHEMA diff of the two type lists) and the one only v1.0 has.
BETA_ONLY = (
    "conditions.agentIdRiskLevels",
    "conditions.deviceStates",
    "conditions.applications.globalSecureAccess",
    "conditions.applications.networkAccess",
    "conditions.clientApplications.agentIdServicePrincipalFilter",
    "conditions.clientApplications.excludeAgentIdServicePrincipals",
    "conditions.clientApplications.includeAgentIdServicePrincipals",
    "conditions.devices.includeDevices",
    "conditions.devices.excludeDevices",
    "conditions.devices.includeDeviceStates",
    "conditions.devices.excludeDeviceStates",
    "sessionControls.continuousAccessEvaluation",
    "sessionControls.globalSecureAccessFilteringProfile",
)
V1_ONLY = ("templateId",)

# Directory role template ids (fixed across tenants; Microsoft's "built-in roles" reference).
ROLE_GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
ADMIN_ROLES = (
    ROLE_GLOBAL_ADMIN,
    "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
    "194ae4cb-b126-40b2-bd5b-6091b380977d",  # Security Administrator
    "29232cdf-9323-42fd-ade2-1d097af3e4de",  # Exchange Administrator
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",  # SharePoint Administrator
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",  # Conditional Access Administrator
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",  # Helpdesk Administrator
    "b0f54661-2d74-4c50-afa3-1ec803f12efe",  # Billing Administrator
    "fe930be7-5e62-47db-91af-98c3a49a38b1",  # User Administrator
    "c4e39bd9-1100-46d3-8c65-fb160da0071f",  # Authentication Administrator
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",  # Application Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7",  # Cloud Application Administrator
    "3a2c62db-5318-420d-8d74-23affee5d9d5",  # Intune Administrator
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",  # Global Reader
)
AZURE_MANAGEMENT = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
INTUNE_ENROLLMENT = "d4ebce55-015a-49b5-a083-c84d1797ae8c"
# Keywords a policy may use instead of ids.
USER_KEYWORDS = {"All", "None", "GuestsOrExternalUsers"}
APP_KEYWORDS = {"All", "None", "Office365", "MicrosoftAdminPortals"}
LOCATION_KEYWORDS = {"All", "AllTrusted", "00000000-0000-0000-0000-000000000000"}  # the last: MFA trusted IPs

BUILT_IN_STRENGTHS: list[JSON] = [
    {
        "id": "00000000-0000-0000-0000-000000000002",
        "displayName": "Multifactor authentication",
        "description": "Combinations of methods that satisfy strong authentication, such as a password + SMS",
        "allowedCombinations": [
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,x509CertificateSingleFactor",
            "password,x509CertificateMultiFactor",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ],
    },
    {
        "id": "00000000-0000-0000-0000-000000000003",
        "displayName": "Passwordless MFA",
        "description": "Passwordless methods that satisfy strong authentication, "
        "such as Passwordless sign-in with the Microsoft Authenticator",
        "allowedCombinations": [
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
        ],
    },
    {
        "id": "00000000-0000-0000-0000-000000000004",
        "displayName": "Phishing resistant MFA",
        "description": "Phishing resistant, Passwordless methods for the strongest authentication, such as a "
        "FIDO2 security key",
        "allowedCombinations": ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"],
    },
]
MFA_STRENGTH, PASSWORDLESS_STRENGTH, PHISHING_RESISTANT_STRENGTH = (s["id"] for s in BUILT_IN_STRENGTHS)


# --- shapes -----------------------------------------------------------------------------------------


def users_condition(
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    *,
    include_groups: list[str] | None = None,
    exclude_groups: list[str] | None = None,
    include_roles: list[str] | None = None,
    exclude_roles: list[str] | None = None,
    include_guests: JSON | None = None,
    exclude_guests: JSON | None = None,
) -> JSON:
    return {
        "includeUsers": include or [],
        "excludeUsers": exclude or [],
        "includeGroups": include_groups or [],
        "excludeGroups": exclude_groups or [],
        "includeRoles": include_roles or [],
        "excludeRoles": exclude_roles or [],
        "includeGuestsOrExternalUsers": include_guests,
        "excludeGuestsOrExternalUsers": exclude_guests,
    }


def guests_condition(
    types: str = "internalGuest,b2bCollaborationGuest,b2bCollaborationMember,b2bDirectConnectUser,"
    "otherExternalUser,serviceProvider",
) -> JSON:
    return {
        "guestOrExternalUserTypes": types,
        "externalTenants": {
            "@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
            "membershipKind": "all",
        },
    }


def applications_condition(
    include: list[str],
    exclude: list[str] | None = None,
    *,
    actions: list[str] | None = None,
    contexts: list[str] | None = None,
) -> JSON:
    return {
        "includeApplications": include,
        "excludeApplications": exclude or [],
        "includeUserActions": actions or [],
        "includeAuthenticationContextClassReferences": contexts or [],
        "applicationFilter": None,
        "globalSecureAccess": None,
        "networkAccess": None,
    }


def grant(controls: list[str], operator: str = "OR", strength: JSON | None = None) -> JSON:
    return {
        "operator": operator,
        "builtInControls": controls,
        "customAuthenticationFactors": [],
        "termsOfUse": [],
        "authenticationStrength": strength,
    }


def session(**controls: Any) -> JSON:
    out: JSON = {
        "disableResilienceDefaults": None,
        "applicationEnforcedRestrictions": None,
        "cloudAppSecurity": None,
        "persistentBrowser": None,
        "signInFrequency": None,
        "secureSignInSession": None,
        "continuousAccessEvaluation": None,
        "globalSecureAccessFilteringProfile": None,
    }
    out.update(controls)
    return out


def sign_in_frequency(value: int | None, unit: str | None, interval: str = "timeBased") -> JSON:
    return {
        "value": value,
        "type": unit,
        "authenticationType": "primaryAndSecondaryAuthentication",
        "frequencyInterval": interval,
        "isEnabled": True,
    }


def conditions(users: JSON, applications: JSON, **extra: Any) -> JSON:
    out: JSON = {
        "userRiskLevels": [],
        "signInRiskLevels": [],
        "clientAppTypes": ["all"],
        "servicePrincipalRiskLevels": [],
        "insiderRiskLevels": None,
        "agentIdRiskLevels": None,
        "deviceStates": None,
        "platforms": None,
        "locations": None,
        "devices": None,
        "clientApplications": None,
        "authenticationFlows": None,
        "applications": applications,
        "users": users,
    }
    out.update(extra)
    return out


def strength_reference(store: Store, strength_id: str) -> JSON:
    """How a policy's grantControls show an authentication strength: the policy, no configurations."""
    found = store.sets.get(STRENGTHS)
    policy = found.get(strength_id) if found else None
    if policy is None:
        raise bad_request(f"Authentication strength policy '{strength_id}' was not found.", "BadRequest")
    keys = (
        "id",
        "createdDateTime",
        "modifiedDateTime",
        "displayName",
        "description",
        "policyType",
        "requirementsSatisfied",
        "allowedCombinations",
    )
    return {k: copy.deepcopy(policy.get(k)) for k in keys}


# --- write hooks ------------------------------------------------------------------------------------

P2_CONDITIONS = ("userRiskLevels", "signInRiskLevels")


def normalize_policy(store: Store, obj: JSON) -> JSON:
    """Fill in what Graph fills in and resolve an authentication strength given by id."""
    for name in ("displayName", "state", "conditions"):
        if not obj.get(name):
            raise bad_request(
                f"1007: Incoming ConditionalAccessPolicy object is missing the '{name}' property.",
                "BadRequest",
            )
    if obj["state"] not in {"enabled", "disabled", "enabledForReportingButNotEnforced"}:
        raise bad_request(f"Invalid value '{obj['state']}' for property 'state'.", "BadRequest")
    cond = obj["conditions"]
    if (
        not isinstance(cond, dict)
        or not isinstance(cond.get("users"), dict)
        or not isinstance(cond.get("applications"), dict)
    ):
        raise bad_request(
            "1007: Incoming ConditionalAccessPolicy object is null or does not match the schema of "
            "ConditionalAccessPolicy type.",
            "BadRequest",
        )
    if any(cond.get(name) for name in P2_CONDITIONS) and P2 not in licensing.effective(store.licenses):
        raise bad_request(
            "1039: Cannot create or update policies with premium P2 features. Upgrade to a premium "
            "P2 license and try again.",
            "BadRequest",
        )
    rest = {k: v for k, v in cond.items() if k not in {"users", "applications"}}
    obj["conditions"] = conditions(
        {**users_condition(), **cond["users"]}, {**applications_condition([]), **cond["applications"]}, **rest
    )
    grant_controls = obj.get("grantControls")
    if isinstance(grant_controls, dict):
        strength = grant_controls.get("authenticationStrength")
        grant_controls = obj["grantControls"] = {**grant([]), **grant_controls}
        if isinstance(strength, dict) and strength.get("id"):
            grant_controls["authenticationStrength"] = strength_reference(store, str(strength["id"]))
    else:
        obj["grantControls"] = None
    if isinstance(obj.get("sessionControls"), dict):
        obj["sessionControls"] = session(**obj["sessionControls"])
    else:
        obj["sessionControls"] = None
    obj.pop("@odata.type", None)
    obj.setdefault("description", None)
    obj.setdefault("templateId", None)
    obj.setdefault("modifiedDateTime", None)
    return obj


def policy_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    return normalize_policy(store, obj)


def policy_deleted(store: Store, obj: JSON) -> None:
    """Deleted policies go to the Conditional Access deleted items, restorable from there."""
    store.add(DELETED_POLICIES, {**copy.deepcopy(obj), "deletedDateTime": isotime()})


def location_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    kind = str(obj.get("@odata.type", "")).lstrip("#")
    if kind not in {"microsoft.graph.ipNamedLocation", "microsoft.graph.countryNamedLocation"}:
        raise bad_request(
            "The '@odata.type' property must be '#microsoft.graph.ipNamedLocation' or "
            "'#microsoft.graph.countryNamedLocation'.",
            "BadRequest",
        )
    if not obj.get("displayName"):
        raise bad_request("Property 'displayName' is required.", "BadRequest")
    obj["@odata.type"] = "#" + kind
    if kind.endswith("ipNamedLocation"):
        if not obj.get("ipRanges"):
            raise bad_request("Property 'ipRanges' is required for an ipNamedLocation.", "BadRequest")
        obj.setdefault("isTrusted", False)
    else:
        if "countriesAndRegions" not in obj:
            raise bad_request(
                "Property 'countriesAndRegions' is required for a countryNamedLocation.", "BadRequest"
            )
        obj.setdefault("includeUnknownCountriesAndRegions", False)
        obj.setdefault("countryLookupMethod", "clientIpAddress")
    obj["modifiedDateTime"] = obj["createdDateTime"]
    return obj


def location_deleted(store: Store, obj: JSON) -> None:
    store.add(DELETED_LOCATIONS, {**copy.deepcopy(obj), "deletedDateTime": isotime()})


def strength_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    if not obj.get("displayName") or not obj.get("allowedCombinations"):
        raise bad_request("Properties 'displayName' and 'allowedCombinations' are required.", "BadRequest")
    obj.pop("combinationConfigurations", None)
    obj["policyType"] = "custom"
    obj["requirementsSatisfied"] = "mfa"
    obj.setdefault("description", None)
    obj["modifiedDateTime"] = obj["createdDateTime"]
    return obj


def strength_deleted(store: Store, obj: JSON) -> None:
    if obj.get("policyType") == "builtIn":
        raise bad_request("Built-in authentication strength policies cannot be deleted.", "BadRequest")
    if any(
        isinstance(p.get("grantControls"), dict)
        and isinstance(p["grantControls"].get("authenticationStrength"), dict)
        and p["grantControls"]["authenticationStrength"].get("id") == obj["id"]
        for p in store.set(POLICIES).after()
    ):
        raise bad_request(
            "The authentication strength policy is in use by a Conditional Access policy.", "BadRequest"
        )
    store.sets.pop(f"{STRENGTHS}/{obj['id']}/combinationConfigurations", None)


# --- handlers ---------------------------------------------------------------------------------------


def _touch(engine: Engine, match: Match) -> JSON:
    obj, _ = engine.get_object(match)
    obj["modifiedDateTime"] = isotime()
    return obj


def policy_handler(engine: Engine, request: Request, match: Match) -> Response:
    """Generic handling, then Graph's own validation and modifiedDateTime upkeep on updates."""
    if request.method == "PATCH" and match.mode == "item":
        obj, _ = engine.get_object(match)
        before = copy.deepcopy(obj)
        response = engine.dispatch(request, match)
        try:
            normalize_policy(engine.store, obj)
        except GraphError:
            obj.clear()
            obj.update(before)
            raise
        obj["modifiedDateTime"] = isotime()
        return response
    return engine.dispatch(request, match)


def location_handler(engine: Engine, request: Request, match: Match) -> Response:
    if request.method == "PATCH" and match.mode == "item":
        obj, _ = engine.get_object(match)
        if not isinstance(request.body, dict) or str(request.body.get("@odata.type", "")).lstrip("#") != str(
            obj["@odata.type"]
        ).lstrip("#"):
            raise bad_request(
                "The '@odata.type' of the named location must be given and match its type.", "BadRequest"
            )
        response = engine.dispatch(request, match)
        _touch(engine, match)
        return response
    return engine.dispatch(request, match)


def strength_handler(engine: Engine, request: Request, match: Match) -> Response:
    if request.method == "PATCH" and match.mode == "item":
        obj, _ = engine.get_object(match)
        if obj.get("policyType") == "builtIn":
            raise bad_request("You can't update a built-in authentication strength policy.", "BadRequest")
        if isinstance(request.body, dict) and "allowedCombinations" in request.body:
            raise bad_request("Use updateAllowedCombinations to change 'allowedCombinations'.", "BadRequest")
        response = engine.dispatch(request, match)
        _touch(engine, match)
        return response
    return engine.dispatch(request, match)


def context_handler(engine: Engine, request: Request, match: Match) -> Response:
    """PATCH on an authentication context id is an upsert: ids are c1 to c99, chosen by the caller."""
    if request.method == "PATCH" and match.mode == "item":
        key = match.params.get("id") or ""
        if not (key[:1] == "c" and key[1:].isdigit() and 1 <= int(key[1:]) <= 99):
            raise bad_request(f"Invalid authentication context id '{key}'; ids are c1 to c99.", "BadRequest")
        entity_set = engine.store.set(CONTEXTS)
        if key not in entity_set:
            if not isinstance(request.body, dict):
                raise bad_request("Empty Payload. JSON content expected.")
            engine.store.add(
                CONTEXTS,
                {
                    "id": key,
                    "displayName": None,
                    "description": None,
                    "isAvailable": False,
                    **{k: v for k, v in request.body.items() if k != "id"},
                },
            )
            engine.store.changes.record(CONTEXTS, key)
            return Response(204)
    return engine.dispatch(request, match)


def restore_handler(engine: Engine, request: Request, match: Match) -> Response:
    """POST .../deletedItems/{policies|namedLocations}/{id}/restore: back to the live collection."""
    kind = "policies" if "/policies/" in match.resource.path else "namedLocations"
    deleted_key, live_key = f"{CA}/deletedItems/{kind}", f"{CA}/{kind}"
    object_id = match.params["id"]
    deleted = engine.store.sets.get(deleted_key)
    obj = deleted.get(object_id) if deleted else None
    if deleted is None or obj is None:
        raise not_found(object_id)
    if object_id in engine.store.set(live_key):
        raise bad_request(f"An object with id '{object_id}' already exists.", "BadRequest")
    deleted.remove(object_id)
    restored = {k: v for k, v in obj.items() if k != "deletedDateTime"}
    engine.store.add(live_key, restored)
    engine.store.changes.record(live_key, object_id)
    live = engine.router.match(f"/{live_key}/{object_id}", request.version)
    context = live_key.removeprefix("identity/")
    body: JSON = {"@odata.context": f"{request.base_url}/{request.version}/$metadata#{context}/$entity"}
    body.update(engine.render(request, restored, live.resource, None, []))
    return Response(200, body, objects=1)


# --- endpoints --------------------------------------------------------------------------------------


def _ca(
    path: str, type_: str, read: tuple[str, ...] = CA_READ, write: tuple[str, ...] = CA_WRITE, **kwargs: Any
) -> Resource:
    kwargs.setdefault("license", P1)
    kwargs.setdefault("paced", True)
    kwargs.setdefault("page_size", None)
    return Resource(path, "set", type_, read, write, **kwargs)


POLICY_KW: dict[str, Any] = {
    "methods": ALL,
    "item_methods": ITEM_RW,
    "on_create": policy_created,
    "on_delete": policy_deleted,
    "store_key": POLICIES,
}
RESOURCES = [
    _ca(
        "/identity/conditionalAccess/policies",
        "microsoft.graph.conditionalAccessPolicy",
        versions=V1,
        extra={"strip": BETA_ONLY, "handler": policy_handler, "read_only": ("modifiedDateTime",)},
        **POLICY_KW,
    ),
    _ca(
        "/identity/conditionalAccess/policies",
        "microsoft.graph.conditionalAccessPolicy",
        versions=BETA,
        extra={"strip": V1_ONLY, "handler": policy_handler, "read_only": ("modifiedDateTime",)},
        **POLICY_KW,
    ),
    _ca(
        "/identity/conditionalAccess/namedLocations",
        "microsoft.graph.namedLocation",
        methods=ALL,
        item_methods=ITEM_RW,
        on_create=location_created,
        on_delete=location_deleted,
        extra={"handler": location_handler, "read_only": ("modifiedDateTime",)},
    ),
    _ca(
        "/identity/conditionalAccess/authenticationContextClassReferences",
        "microsoft.graph.authenticationContextClassReference",
        CONTEXT_READ,
        CONTEXT_WRITE,
        item_methods=ITEM_RW,
        extra={"handler": context_handler},
    ),
    # Deleted items: documented on beta pages; the v1.0 schema has conditionalAccessRoot.deletedItems too.
    _ca(
        "/identity/conditionalAccess/deletedItems/policies",
        "microsoft.graph.conditionalAccessPolicy",
        versions=V1,
        item_methods=frozenset({"GET", "DELETE"}),
        extra={"strip": BETA_ONLY},
    ),
    _ca(
        "/identity/conditionalAccess/deletedItems/policies",
        "microsoft.graph.conditionalAccessPolicy",
        versions=BETA,
        item_methods=frozenset({"GET", "DELETE"}),
        extra={"strip": V1_ONLY},
    ),
    _ca(
        "/identity/conditionalAccess/deletedItems/namedLocations",
        "microsoft.graph.namedLocation",
        item_methods=frozenset({"GET", "DELETE"}),
    ),
    Resource(
        "/identity/conditionalAccess/deletedItems/policies/{id}/restore",
        "singleton",
        "microsoft.graph.conditionalAccessPolicy",
        CA_READ,
        CA_WRITE,
        methods=frozenset({"POST"}),
        license=P1,
        paced=True,
        extra={"handler": restore_handler},
    ),
    Resource(
        "/identity/conditionalAccess/deletedItems/namedLocations/{id}/restore",
        "singleton",
        "microsoft.graph.namedLocation",
        CA_READ,
        CA_WRITE,
        methods=frozenset({"POST"}),
        license=P1,
        paced=True,
        extra={"handler": restore_handler},
    ),
    # Authentication strengths: the documented /policies path and the conditionalAccessRoot alias.
    Resource(
        "/policies/authenticationStrengthPolicies",
        "set",
        "microsoft.graph.authenticationStrengthPolicy",
        STRENGTH_READ,
        STRENGTH_WRITE,
        methods=ALL,
        item_methods=ITEM_RW,
        page_size=None,
        license=P1,
        inline={"combinationConfigurations": STRENGTHS + "/{id}/combinationConfigurations"},
        on_create=strength_created,
        on_delete=strength_deleted,
        extra={"handler": strength_handler, "read_only": ("policyType", "requirementsSatisfied")},
    ),
    Resource(
        "/policies/authenticationStrengthPolicies/{id}/combinationConfigurations",
        "set",
        "microsoft.graph.authenticationCombinationConfiguration",
        STRENGTH_READ,
        STRENGTH_WRITE,
        methods=ALL,
        item_methods=ITEM_RW,
        page_size=None,
        license=P1,
    ),
    _ca(
        "/identity/conditionalAccess/authenticationStrength/policies",
        "microsoft.graph.authenticationStrengthPolicy",
        STRENGTH_READ,
        STRENGTH_WRITE,
        store_key=STRENGTHS,
        inline={"combinationConfigurations": STRENGTHS + "/{id}/combinationConfigurations"},
    ),
    _ca(
        "/identity/conditionalAccess/authenticationStrength/policies/{id}/combinationConfigurations",
        "microsoft.graph.authenticationCombinationConfiguration",
        STRENGTH_READ,
        STRENGTH_WRITE,
        store_key=STRENGTHS + "/{id}/combinationConfigurations",
    ),
]


# --- generation -------------------------------------------------------------------------------------

NAMED_LOCATIONS: list[tuple[str, JSON]] = [
    (
        "Corporate headquarters",
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "isTrusted": True,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "20.190.128.0/24"},
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "40.126.0.0/26"},
            ],
        },
    ),
    (
        "Branch offices",
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "isTrusted": True,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "52.96.10.0/27"},
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "52.96.44.64/27"},
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "13.107.6.152/31"},
            ],
        },
    ),
    (
        "VPN egress (IPv6)",
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "isTrusted": True,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2603:1006:2000::/48"}
            ],
        },
    ),
    (
        "Guest Wi-Fi",
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "isTrusted": False,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "104.44.90.0/28"}],
        },
    ),
    (
        "Allowed countries",
        {
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "countriesAndRegions": ["US", "CA", "GB", "DE", "FR", "JP"],
            "includeUnknownCountriesAndRegions": False,
            "countryLookupMethod": "clientIpAddress",
        },
    ),
    (
        "Blocked countries",
        {
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "countriesAndRegions": ["KP", "IR", "SY", "CU"],
            "includeUnknownCountriesAndRegions": True,
            "countryLookupMethod": "clientIpAddress",
        },
    ),
    (
        "Authenticator GPS — US only",
        {
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "countriesAndRegions": ["US"],
            "includeUnknownCountriesAndRegions": False,
            "countryLookupMethod": "authenticatorAppGps",
        },
    ),
]
CONTEXT_CLASSES = [
    ("c1", "Trusted location", "Require access from a trusted network", True),
    ("c2", "Sensitive data", "Require a compliant device for highly confidential SharePoint sites", True),
    ("c3", "Privileged operations", "Step-up to phishing-resistant MFA for PIM activation", True),
    ("c4", "Finance approvals", "Require MFA within the last hour for payment approvals", True),
    ("c5", "Pilot", "Reserved for testing", False),
]


def _add_strengths(store: Store, ctx: Context) -> None:
    for built_in in BUILT_IN_STRENGTHS:
        store.add(
            STRENGTHS,
            {
                **copy.deepcopy(built_in),
                "createdDateTime": "2021-12-01T00:00:00Z",
                "modifiedDateTime": "2021-12-01T00:00:00Z",
                "policyType": "builtIn",
                "requirementsSatisfied": "mfa",
            },
        )
    custom = [
        (
            "FIDO2 keys approved by IT",
            "Only the YubiKey and Feitian models distributed by IT",
            ["fido2"],
            (
                "fido2",
                {
                    "allowedAAGUIDs": [
                        "cb69481e-8ff7-4039-93ec-0a2729a154a8",
                        "ee882879-721c-4913-9775-3dfcce97072a",
                    ]
                },
            ),
        ),
        (
            "Certificate-based MFA",
            "Smart cards issued by the corporate PKI",
            ["x509CertificateMultiFactor"],
            (
                "x509Certificate",
                {
                    "allowedIssuerSkis": ["9A4248C6AC8C2931AB2A86537818E92E7B6C97B6"],
                    "allowedPolicyOIDs": ["1.2.3.4.6", "1.2.3.4.5.6"],
                },
            ),
        ),
        (
            "Temporary Access Pass onboarding",
            "First sign-in with a one-time Temporary Access Pass",
            ["temporaryAccessPassOneTime", "fido2", "windowsHelloForBusiness"],
            None,
        ),
    ]
    for name, description, combinations, configuration in custom:
        created = ctx.time(600, 30)
        policy = store.add(
            STRENGTHS,
            {
                "id": ctx.uuid(),
                "createdDateTime": created,
                "modifiedDateTime": ctx.time(29, 1),
                "displayName": name,
                "description": description,
                "policyType": "custom",
                "requirementsSatisfied": "mfa",
                "allowedCombinations": combinations,
            },
        )
        if configuration is not None:
            kind, props = configuration
            store.add(
                f"{STRENGTHS}/{policy['id']}/combinationConfigurations",
                {
                    "@odata.type": f"#microsoft.graph.{kind}CombinationConfiguration",
                    "id": ctx.uuid(),
                    "appliesToCombinations": [combinations[0]],
                    **props,
                },
            )


def _policy(
    ctx: Context,
    name: str,
    state: str,
    cond: JSON,
    grant_controls: JSON | None,
    session_controls: JSON | None = None,
    *,
    description: str | None = None,
) -> JSON:
    created = ctx.time(900, 20)
    return {
        "id": ctx.uuid(),
        "templateId": None,
        "displayName": name,
        "description": description,
        "createdDateTime": created,
        "modifiedDateTime": None if ctx.chance(0.3) else ctx.time(19, 0),
        "state": state,
        "conditions": cond,
        "grantControls": grant_controls,
        "sessionControls": session_controls,
    }


def populate(store: Store, ctx: Context) -> None:
    """Named locations, authentication contexts and strengths, then realistic policies over them."""
    rng = ctx.rng
    for name, props in NAMED_LOCATIONS:
        created = ctx.time(1200, 60)
        store.add(
            LOCATIONS,
            {
                "id": ctx.uuid(),
                "displayName": name,
                "createdDateTime": created,
                "modifiedDateTime": ctx.time(59, 1),
                **copy.deepcopy(props),
            },
        )
    location_ids = {o["displayName"]: o["id"] for o in store.set(LOCATIONS).after()}
    for key, name, description, available in CONTEXT_CLASSES:
        store.add(
            CONTEXTS, {"id": key, "displayName": name, "description": description, "isAvailable": available}
        )
    _add_strengths(store, ctx)
    strengths = {o["displayName"]: o["id"] for o in store.set(STRENGTHS).after()}

    users = store.sets.get("users")
    members = (
        [o["id"] for o in users.after() if o.get("userType") == "Member" and o.get("accountEnabled")]
        if users
        else []
    )
    break_glass = members[:2]  # the tenant's emergency-access accounts, excluded from every policy
    groups = store.sets.get("groups")
    security_groups = [o["id"] for o in groups.after() if o.get("securityEnabled")] if groups else []
    templates = store.sets.get("directoryRoleTemplates")
    roles = [r for r in ADMIN_ROLES if templates is None or len(templates) == 0 or r in templates]
    sps = store.sets.get("servicePrincipals")
    app_ids = sorted({str(o["appId"]) for o in sps.after() if o.get("appId")}) if sps else []
    known_apps = set(app_ids)
    azure_management = [AZURE_MANAGEMENT] if AZURE_MANAGEMENT in known_apps else ["MicrosoftAdminPortals"]
    pilot_group = security_groups[:1]
    excluded_groups = security_groups[1:2]

    def strength(name: str) -> JSON:
        return strength_reference(store, strengths[name])

    def everyone(exclude_guests: bool = False) -> JSON:
        return users_condition(
            ["All"],
            list(break_glass),
            exclude_groups=list(excluded_groups),
            exclude_guests=guests_condition() if exclude_guests else None,
        )

    trusted = {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}
    policies: list[JSON] = [
        _policy(
            ctx,
            "CA001: Require multifactor authentication for admins",
            "enabled",
            conditions(
                users_condition(include_roles=list(roles), exclude=list(break_glass)),
                applications_condition(["All"]),
            ),
            grant(["mfa"]),
            description="Baseline: every directory role must use MFA.",
        ),
        _policy(
            ctx,
            "CA002: Block legacy authentication",
            "enabled",
            conditions(
                users_condition(["All"], list(break_glass)),
                applications_condition(["All"]),
                clientAppTypes=["exchangeActiveSync", "other"],
            ),
            grant(["block"]),
        ),
        _policy(
            ctx,
            "CA003: Require MFA for all users",
            "enabled",
            conditions(everyone(exclude_guests=True), applications_condition(["All"])),
            grant(["mfa"]),
        ),
        _policy(
            ctx,
            "CA004: Require compliant or hybrid joined device",
            "enabledForReportingButNotEnforced",
            conditions(
                everyone(exclude_guests=True),
                applications_condition(["Office365"]),
                platforms={"includePlatforms": ["windows", "macOS"], "excludePlatforms": []},
                clientAppTypes=["browser", "mobileAppsAndDesktopClients"],
            ),
            grant(["compliantDevice", "domainJoinedDevice"], "OR"),
        ),
        _policy(
            ctx,
            "CA005: Sign-in risk — require MFA",
            "enabled",
            conditions(everyone(), applications_condition(["All"]), signInRiskLevels=["high", "medium"]),
            grant(["mfa"]),
            session(signInFrequency=sign_in_frequency(None, None, "everyTime")),
        ),
        _policy(
            ctx,
            "CA006: User risk — require password change",
            "enabled",
            conditions(everyone(), applications_condition(["All"]), userRiskLevels=["high"]),
            grant(["mfa", "passwordChange"], "AND"),
            session(signInFrequency=sign_in_frequency(None, None, "everyTime")),
        ),
        _policy(
            ctx,
            "CA007: Guests — require MFA and limit session",
            "enabled",
            conditions(
                users_condition(include_guests=guests_condition(), exclude=list(break_glass)),
                applications_condition(["All"]),
            ),
            grant(["mfa"]),
            session(
                signInFrequency=sign_in_frequency(12, "hours"),
                persistentBrowser={"mode": "never", "isEnabled": True},
            ),
        ),
        _policy(
            ctx,
            "CA008: Block access from blocked countries",
            "enabled",
            conditions(
                everyone(),
                applications_condition(["All"]),
                locations={"includeLocations": [location_ids["Blocked countries"]], "excludeLocations": []},
            ),
            grant(["block"]),
        ),
        _policy(
            ctx,
            "CA009: Require MFA outside trusted locations",
            "enabledForReportingButNotEnforced",
            conditions(everyone(), applications_condition(["All"]), locations=dict(trusted)),
            grant(["mfa"]),
        ),
        _policy(
            ctx,
            "CA010: Phishing-resistant MFA for Global Administrators",
            "enabled",
            conditions(
                users_condition(include_roles=[ROLE_GLOBAL_ADMIN], exclude=list(break_glass)),
                applications_condition(["All"]),
            ),
            grant([], strength=strength("Phishing resistant MFA")),
        ),
        _policy(
            ctx,
            "CA011: Azure management requires passwordless MFA",
            "enabled",
            conditions(everyone(), applications_condition(list(azure_management))),
            grant([], strength=strength("Passwordless MFA")),
        ),
        _policy(
            ctx,
            "CA012: Sensitive data context — compliant device",
            "enabled",
            conditions(everyone(), applications_condition([], contexts=["c2"])),
            grant(["compliantDevice"]),
        ),
        _policy(
            ctx,
            "CA013: Register security information from trusted locations",
            "enabled",
            conditions(
                everyone(exclude_guests=True),
                applications_condition([], actions=["urn:user:registersecurityinfo"]),
                locations=dict(trusted),
            ),
            grant(["mfa"]),
        ),
        _policy(
            ctx,
            "CA014: Unmanaged devices — app enforced restrictions",
            "disabled",
            conditions(
                everyone(),
                applications_condition(["Office365"]),
                clientAppTypes=["browser"],
                devices={
                    "deviceFilter": {
                        "mode": "exclude",
                        "rule": 'device.isCompliant -eq True -or device.trustType -eq "ServerAD"',
                    }
                },
            ),
            None,
            session(
                applicationEnforcedRestrictions={"isEnabled": True},
                cloudAppSecurity={"cloudAppSecurityType": "monitorOnly", "isEnabled": True},
                continuousAccessEvaluation={"mode": "strictEnforcement"},
            ),
        ),
        _policy(
            ctx,
            "CA015: Intune enrollment requires MFA every time",
            "disabled",
            conditions(
                everyone(),
                applications_condition(
                    [INTUNE_ENROLLMENT] if INTUNE_ENROLLMENT in known_apps else ["Office365"]
                ),
            ),
            grant([], strength=strength("Multifactor authentication")),
            session(signInFrequency=sign_in_frequency(None, None, "everyTime")),
        ),
    ]
    # Per-application and per-group policies make up the rest of the plan's count.
    custom_strengths = [
        s for n, s in strengths.items() if n in {"FIDO2 keys approved by IT", "Certificate-based MFA"}
    ]
    index = len(policies)
    while len(policies) < ctx.plan.ca_policies:
        index += 1
        target = ctx.sample(app_ids, rng.randint(1, 3)) if app_ids and ctx.chance(0.8) else ["Office365"]
        included = ctx.sample(security_groups, rng.randint(1, 3)) if security_groups else []
        state = rng.choice(["enabled", "enabled", "enabled", "disabled", "enabledForReportingButNotEnforced"])
        flavour = rng.random()
        if flavour < 0.4:
            controls = grant(["mfa"])
            label = "require MFA"
        elif flavour < 0.6:
            controls = grant(["compliantDevice", "domainJoinedDevice"], "OR")
            label = "require managed device"
        elif flavour < 0.75 and custom_strengths:
            controls = grant([], strength=strength_reference(store, ctx.pick(custom_strengths)))
            label = "require custom authentication strength"
        elif flavour < 0.85:
            controls = grant(["block"])
            label = "block outside allowed countries"
        else:
            controls = grant(["approvedApplication", "compliantApplication"], "OR")
            label = "require app protection"
        extra: JSON = {}
        if label.startswith("block"):
            extra["locations"] = {
                "includeLocations": ["All"],
                "excludeLocations": [location_ids["Allowed countries"]],
            }
        if label == "require app protection":
            extra["platforms"] = {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}
        cond = conditions(
            users_condition(["All"] if not included else [], list(break_glass), include_groups=included),
            applications_condition(target),
            **extra,
        )
        sessions = (
            session(signInFrequency=sign_in_frequency(rng.choice([1, 4, 8, 24]), "hours"))
            if ctx.chance(0.25)
            else None
        )
        policies.append(_policy(ctx, f"CA{index:03d}: App access — {label}", state, cond, controls, sessions))
    for policy in policies[: ctx.plan.ca_policies]:
        store.add(POLICIES, policy)
    # A few recently deleted policies and one named location wait in the CA deleted items.
    for number in range(2):
        gone = _policy(
            ctx,
            f"CA9{number}{number}: Retired pilot policy {number + 1}",
            "disabled",
            conditions(
                users_condition(
                    include_groups=list(pilot_group) or None, include=None if pilot_group else ["None"]
                ),
                applications_condition(["Office365"]),
            ),
            grant(["mfa"]),
        )
        gone["deletedDateTime"] = ctx.time(20, 1)
        store.add(DELETED_POLICIES, gone)
    store.add(
        DELETED_LOCATIONS,
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": ctx.uuid(),
            "displayName": "Old datacenter",
            "createdDateTime": ctx.time(2000, 1000),
            "modifiedDateTime": ctx.time(900, 100),
            "isTrusted": True,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "65.52.0.0/24"}],
            "deletedDateTime": ctx.time(25, 2),
        },
    )
