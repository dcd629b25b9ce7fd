"""The tenant itself: organization, branding, domains, licences, settings, custom security attributes,
role templates, devices, administrative units and backup snapshots.

Endpoints: https://learn.microsoft.com/graph/api/resources/organization, .../domain, .../subscribedsku,
.../groupsetting (v1.0) and .../directorysetting (beta), .../customsecurityattributedefinition,
.../directoryroletemplate, .../device, .../administrativeunit, .../entrarecoveryservices-snapshot.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from entrasnap.fakegraph.areas.users import SKU_E3, SKU_E5
from entrasnap.fakegraph.context import EPOCH, Context
from entrasnap.fakegraph.licensing import effective
from entrasnap.fakegraph.odata import bad_request
from entrasnap.fakegraph.resource import BETA, P1, P2, V1, Expansion, Resource, reads
from entrasnap.fakegraph.state import JSON, Store, isotime

# --- permissions (facts-directory.md §3, §4, §6; learn.microsoft.com API pages) --------------------------

ORG_READ = (
    "Organization.Read.All",
    "Directory.Read.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
)
BRANDING_READ = (
    "OrganizationalBranding.Read.All",
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "OrganizationalBranding.ReadWrite.All",
)
BRANDING_WRITE = ("OrganizationalBranding.ReadWrite.All", "Organization.ReadWrite.All")
CBA_READ = ("Organization.Read.All", "Organization.ReadWrite.All")
# The API page says "Application: Not supported"; Graph nevertheless exposes the app role and Microsoft's own
# tools call it app-only, so the app permission is honoured here (see the area report).
ONPREM_SYNC_READ = reads("OnPremDirectorySynchronization")
DOMAIN_READ = reads("Domain", "Directory")
SKU_READ = (
    "Organization.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Organization.ReadWrite.All",
)
SETTINGS_READ = reads("GroupSettings", "Directory", "Group")
SETTINGS_WRITE = ("GroupSettings.ReadWrite.All", "Directory.ReadWrite.All")
GROUP_SETTINGS_READ = reads("GroupSettings", "Group", "Directory")
GROUP_SETTINGS_WRITE = ("GroupSettings.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")
TEMPLATES_READ = reads("GroupSettings", "Directory")
CSA_READ = reads("CustomSecAttributeDefinition")
CSA_WRITE = ("CustomSecAttributeDefinition.ReadWrite.All",)
ROLE_TEMPLATE_READ = (
    "RoleManagement.Read.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
)
DEVICE_READ = reads("Device", "Directory")
DEVICE_WRITE = ("Device.ReadWrite.All", "Directory.ReadWrite.All")
AU_READ = reads("AdministrativeUnit", "Directory")
AU_WRITE = ("AdministrativeUnit.ReadWrite.All", "Directory.ReadWrite.All")
SCOPED_ROLE_READ = (
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "AdministrativeUnit.Read.All",
    "AdministrativeUnit.ReadWrite.All",
)
BACKUP_READ = ("EntraBackup.Read.All",)

# --- fixed, documented identifiers ---------------------------------------------------------------------

# certificateBasedAuthConfiguration: "at most one instance", with this id.
CBA_CONFIGURATION_ID = "29728ade-6ae4-4ee9-9103-412912537da5"

# Built-in Microsoft Entra role templates: (id, displayName, description). The roles area imports this.
ROLE_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra "
        "identities.",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
        "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity "
        "Management.",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
        "Can read security information and reports, and manage configuration in Microsoft Entra ID and "
        "Office 365.",
    ),
    (
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "User Administrator",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
        "Can manage Conditional Access capabilities.",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
        "Can create and manage all aspects of app registrations and enterprise apps.",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
        "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
    ),
    (
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
        "Groups Administrator",
        "Members of this role can create/manage groups, create/manage groups settings like naming and "
        "expiration "
        "policies, and view groups activity and audit reports.",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
        "Can reset passwords for non-administrators and Helpdesk Administrators.",
    ),
    (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
        "Can access to view, set and reset authentication method information for any non-admin user.",
    ),
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
        "Can manage all aspects of the Exchange product.",
    ),
    (
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
        "Can manage all aspects of the SharePoint service.",
    ),
    (
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "Global Reader",
        "Can read everything that a Global Administrator can, but not update anything.",
    ),
    (
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        "Security Reader",
        "Can read security information and reports in Microsoft Entra ID and Office 365.",
    ),
    (
        "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        "Directory Readers",
        "Can read basic directory information. Commonly used to grant directory read access to applications "
        "and "
        "guests.",
    ),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
        "Can access to view, set and reset authentication method information for any user (admin or "
        "non-admin).",
    ),
    (
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Intune Administrator",
        "Can manage all aspects of the Intune product.",
    ),
    (
        "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "Billing Administrator",
        "Can perform common billing related tasks like updating payment information.",
    ),
    ("4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader", "Can read sign-in and audit reports."),
    (
        "17315797-102d-40b4-93e0-432062caca18",
        "Compliance Administrator",
        "Can read and manage compliance configuration and reports in Microsoft Entra ID and Microsoft 365.",
    ),
)

# Directory setting templates: id -> (displayName, description, [(name, type, defaultValue, description)]).
GROUP_UNIFIED_TEMPLATE = "62375ab9-6b52-47ed-826b-58e47e0e304b"
GROUP_UNIFIED_GUEST_TEMPLATE = "08d542b9-071f-4e16-94b0-74abb372e3d9"
PASSWORD_RULE_TEMPLATE = "5cf42378-d67d-4f36-ba46-e8b86229381d"
CONSENT_POLICY_TEMPLATE = "dffd5d46-495d-40a9-8e21-954ff55e198a"
_TEMPLATE_DESCRIPTION = (
    "Setting templates define the different settings that can be used for the associated "
    "ObjectSettings. This template defines settings that can be used for {what}."
)
SETTING_TEMPLATES: dict[str, tuple[str, str, list[tuple[str, str, str, str]]]] = {
    GROUP_UNIFIED_TEMPLATE: (
        "Group.Unified",
        _TEMPLATE_DESCRIPTION.format(what="Unified Groups"),
        [
            (
                "NewUnifiedGroupWritebackDefault",
                "System.Boolean",
                "true",
                "Flag indicating if Unified Group writeback to on-premises is enabled by default for new "
                "groups.",
            ),
            (
                "EnableMIPLabels",
                "System.Boolean",
                "false",
                "Flag indicating whether Microsoft Information Protection sensitivity labels can be "
                "assigned to groups.",
            ),
            (
                "CustomBlockedWordsList",
                "System.String",
                "",
                "A comma-delimited list of blocked words for group names.",
            ),
            (
                "EnableMSStandardBlockedWords",
                "System.Boolean",
                "false",
                "A flag indicating whether or not to enable the Microsoft standard list of blocked words.",
            ),
            (
                "ClassificationDescriptions",
                "System.String",
                "",
                "A comma-delimited list of structured strings describing the classification values.",
            ),
            ("DefaultClassification", "System.String", "", "The classification value to be used by default."),
            (
                "PrefixSuffixNamingRequirement",
                "System.String",
                "",
                "A structured string describing how a Unified Group displayName and mailNickname should be "
                "structured.",
            ),
            (
                "AllowGuestsToBeGroupOwner",
                "System.Boolean",
                "false",
                "Flag indicating if guests are allowed to be owner in any Unified Group.",
            ),
            (
                "AllowGuestsToAccessGroups",
                "System.Boolean",
                "true",
                "Flag indicating if guests are allowed to access any Unified Group resources.",
            ),
            (
                "GuestUsageGuidelinesUrl",
                "System.String",
                "",
                "A link to the Group usage guidelines for guests.",
            ),
            (
                "GroupCreationAllowedGroupId",
                "System.Guid",
                "",
                "Guid of the security group that is always allowed to create Unified Groups.",
            ),
            (
                "AllowToAddGuests",
                "System.Boolean",
                "true",
                "Flag indicating if guests are allowed in any Unified Group.",
            ),
            ("UsageGuidelinesUrl", "System.String", "", "A link to the Group usage guidelines."),
            (
                "ClassificationList",
                "System.String",
                "",
                "A comma-delimited list of valid classification values that can be applied to Unified "
                "Groups.",
            ),
            (
                "EnableGroupCreation",
                "System.Boolean",
                "true",
                "Flag indicating if group creation feature is on.",
            ),
        ],
    ),
    GROUP_UNIFIED_GUEST_TEMPLATE: (
        "Group.Unified.Guest",
        "Settings for a specific Unified Group",
        [
            (
                "AllowToAddGuests",
                "System.Boolean",
                "true",
                "Flag indicating if guests are allowed in a specific Unified Group.",
            ),
        ],
    ),
    "80661d51-be2f-4d46-9713-98a2fcaec5bc": (
        "Prohibited Names Settings",
        _TEMPLATE_DESCRIPTION.format(what="managing tenant-wide prohibited names settings"),
        [
            (
                "CustomBlockedSubStringsList",
                "System.String",
                "",
                "A comma delimited list of substring reserved words to block for application display names.",
            ),
            (
                "CustomBlockedWholeWordsList",
                "System.String",
                "",
                "A comma delimited list of reserved words to block for application display names.",
            ),
        ],
    ),
    "aad3907d-1d1a-448b-b3ef-7bf7f63db63b": (
        "Prohibited Names Restricted Settings",
        _TEMPLATE_DESCRIPTION.format(what="managing tenant-wide prohibited names restricted settings"),
        [
            (
                "CustomAllowedSubStringsList",
                "System.String",
                "",
                "A comma delimited list of substring reserved words to allow for application display names.",
            ),
            (
                "CustomAllowedWholeWordsList",
                "System.String",
                "",
                "A comma delimited list of whole reserved words to allow for application display names.",
            ),
            (
                "DoNotValidateAgainstTrademark",
                "System.Boolean",
                "false",
                "Flag indicating if prohibited names validation against trademark global list is disabled.",
            ),
        ],
    ),
    "4bc7f740-180e-4586-adb6-38b2e9024e6b": (
        "Application",
        _TEMPLATE_DESCRIPTION.format(what="managing tenant-wide application behavior"),
        [
            (
                "EnableAccessCheckForPrivilegedApplicationUpdates",
                "System.Boolean",
                "false",
                "Flag indicating if access check for application privileged updates is turned on.",
            ),
        ],
    ),
    "898f1161-d651-43d1-805c-3b0b388a9fc2": (
        "Custom Policy Settings",
        _TEMPLATE_DESCRIPTION.format(what="managing custom conditional access policies"),
        [
            (
                "CustomConditionalAccessPolicyUrl",
                "System.String",
                "",
                "Custom conditional access policy url.",
            ),
        ],
    ),
    PASSWORD_RULE_TEMPLATE: (
        "Password Rule Settings",
        _TEMPLATE_DESCRIPTION.format(what="managing tenant-wide password rule settings"),
        [
            (
                "BannedPasswordCheckOnPremisesMode",
                "System.String",
                "Audit",
                "How should we enforce password policy check in on-premises system.",
            ),
            (
                "EnableBannedPasswordCheckOnPremises",
                "System.Boolean",
                "true",
                "Flag indicating if the banned password check is turned on or not for on-premises system.",
            ),
            (
                "EnableBannedPasswordCheck",
                "System.Boolean",
                "true",
                "Flag indicating if the banned password check for tenant specific banned password list is "
                "turned on.",
            ),
            (
                "LockoutDurationInSeconds",
                "System.Int32",
                "60",
                "The duration in seconds of the initial lockout period.",
            ),
            (
                "LockoutThreshold",
                "System.Int32",
                "10",
                "The number of failed login attempts before the first lockout period begins.",
            ),
            ("BannedPasswordList", "System.String", "", "A tab-delimited banned password list."),
        ],
    ),
    CONSENT_POLICY_TEMPLATE: (
        "Consent Policy Settings",
        _TEMPLATE_DESCRIPTION.format(what="managing tenant-wide consent policy settings"),
        [
            (
                "EnableGroupSpecificConsent",
                "System.Boolean",
                "false",
                "Flag indicating if groups owners are allowed to grant group specific permissions.",
            ),
            (
                "BlockUserConsentForRiskyApps",
                "System.Boolean",
                "true",
                "Flag indicating if user consent will be blocked when a risky request is detected.",
            ),
            (
                "EnableAdminConsentRequests",
                "System.Boolean",
                "false",
                "Flag indicating if users will be able to request admin consent when they are unable to "
                "grant consent.",
            ),
            (
                "ConstrainGroupSpecificConsentToMembersOfGroupId",
                "System.String",
                "",
                "If EnableGroupSpecificConsent is set to True and this is set to a security group object "
                "ID, members "
                "(both direct and transitive) of the group identified will be authorized to grant "
                "group-specific "
                "permissions to the groups they own.",
            ),
        ],
    ),
}

# Service plans (Microsoft's "Product names and service plan identifiers for licensing" list).
PLAN_EXCHANGE = ("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE", "exchange")
PLAN_SHAREPOINT = ("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE", "SharePoint")
PLAN_TEAMS = ("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1", "TeamspaceAPI")
PLAN_OFFICE = ("43de0ff5-c92c-492b-9116-175376d08c38", "OFFICESUBSCRIPTION", "MicrosoftOffice")
PLAN_MFA = ("8a256a2b-b617-496d-b51b-e76466e88db0", "MFA_PREMIUM", "MultiFactorService")
PLAN_INTUNE = ("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "INTUNE_A", "SCO")
PLAN_RMS = ("bea4c11e-220a-4e6d-8eb8-8ea15d019f90", "RMS_S_ENTERPRISE", "RMSOnline")
PLAN_CAS = ("2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2", "ADALLOM_S_STANDALONE", "Adallom")
PLAN_AAD_P1 = ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "AADPremiumService")
PLAN_AAD_P2 = ("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2", "AADPremiumService")
SKU_AAD_P2 = "84a661c4-e949-4bd2-a560-ed7766fcaf2b"  # Microsoft Entra ID P2 (AAD_PREMIUM_P2)

ATTRIBUTE_SETS: tuple[tuple[str, str, int], ...] = (
    ("Engineering", "Attributes for engineering team", 25),
    ("Marketing", "Attributes for marketing campaigns", 10),
    ("Security", "Attributes used for security clearance and data access", 15),
)
# (attribute set, name, description, type, isCollection, usePreDefinedValuesOnly, allowed values)
ATTRIBUTE_DEFINITIONS: tuple[tuple[str, str, str, str, bool, bool, tuple[str, ...]], ...] = (
    (
        "Engineering",
        "Project",
        "Active projects for user",
        "String",
        True,
        True,
        ("Alpine", "Baker", "Cascade"),
    ),
    ("Engineering", "CostCenter", "Cost center number", "Integer", False, False, ()),
    ("Engineering", "Certified", "Has completed the engineering certification", "Boolean", False, False, ()),
    ("Marketing", "Campaign", "Campaigns the user works on", "String", True, False, ("Spring", "Fall")),
    (
        "Security",
        "Clearance",
        "Security clearance level",
        "String",
        False,
        True,
        ("Public", "Confidential", "Secret", "TopSecret"),
    ),
)

# (operatingSystem, versions, manufacturers/models)
DEVICE_KINDS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    (
        "Windows",
        ("10.0.19045.4291", "10.0.22631.3447", "10.0.26100.2033"),
        (
            ("Microsoft Corporation", "Surface Laptop 5"),
            ("Dell Inc.", "Latitude 7440"),
            ("LENOVO", "21HD"),
            ("HP", "HP EliteBook 840 G10"),
        ),
    ),
    (
        "iOS",
        ("17.4.1", "17.5", "18.1"),
        (("Apple", "iPhone 15"), ("Apple", "iPhone 14 Pro"), ("Apple", "iPad Air")),
    ),
    ("Android", ("13", "14"), (("samsung", "SM-S918B"), ("Google", "Pixel 8"))),
    ("macOS", ("14.4.1", "15.1"), (("Apple", "MacBookPro18,3"), ("Apple", "Mac14,2"))),
)
INTUNE_MDM_APP_ID = "0000000a-0000-0000-c000-000000000000"


def _group_setting_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """A new setting takes its displayName from its template, as Graph does."""
    template = SETTING_TEMPLATES.get(str(obj.get("templateId", "")).lower())
    if template is not None:
        obj.setdefault("displayName", template[0])
    obj.setdefault("values", [])
    return obj


def _group_specific_setting_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """A group's own setting: only on a Microsoft 365 group ("Group-specific settings apply to only
    Microsoft 365 groups", https://learn.microsoft.com/graph/api/resources/groupsetting) or a cloud
    security group (Group.Security.Policies, https://learn.microsoft.com/graph/api/group-post-settings);
    never on a group synchronized from on-premises that is not a Microsoft 365 group."""
    groups = store.sets.get("groups")
    group = groups.get(params.get("id", "")) if groups is not None else None
    if group is not None and group.get("onPremisesSyncEnabled") and "Unified" not in group["groupTypes"]:
        raise bad_request(
            "Group-specific settings apply only to Microsoft 365 groups and cloud security groups.",
            "Request_BadRequest",
        )
    return _group_setting_created(store, obj, params)


def _definition_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    """Graph names a definition ``{attributeSet}_{name}``."""
    obj["id"] = f"{obj.get('attributeSet')}_{obj.get('name')}"
    obj.setdefault("status", "Available")
    return obj


def _device_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    obj.setdefault("alternativeSecurityIds", [])
    obj.setdefault("physicalIds", [])
    obj.setdefault("systemLabels", [])
    obj.setdefault("deviceId", obj["id"])
    return obj


def _au_created(store: Store, obj: JSON, params: dict[str, str]) -> JSON:
    for key in (
        "description",
        "membershipRule",
        "membershipRuleProcessingState",
        "membershipType",
        "visibility",
    ):
        obj.setdefault(key, None)
    obj.setdefault("isMemberManagementRestricted", False)
    return obj


_SETTING_ITEM = frozenset({"GET", "PATCH", "DELETE"})
_GET_POST = frozenset({"GET", "POST"})

RESOURCES = [
    # organization (directoryObject), one per tenant, keyed by tenant id.
    Resource(
        "/organization",
        "set",
        "microsoft.graph.organization",
        ORG_READ,
        write=("Organization.ReadWrite.All",),
        item_methods=frozenset({"GET", "PATCH"}),
        directory_object=True,
        page_size=None,
        extra={"read_only": ("assignedPlans", "provisionedPlans", "verifiedDomains", "tenantType")},
    ),
    Resource(
        "/organization/{id}/branding",
        "singleton",
        "microsoft.graph.organizationalBranding",
        BRANDING_READ,
        write=BRANDING_WRITE,
        methods=frozenset({"GET", "PATCH"}),
    ),
    Resource(
        "/organization/{id}/branding/localizations",
        "set",
        "microsoft.graph.organizationalBrandingLocalization",
        BRANDING_READ,
        write=BRANDING_WRITE,
        item_methods=_SETTING_ITEM,
        page_size=None,
    ),
    Resource(
        "/organization/{id}/certificateBasedAuthConfiguration",
        "set",
        "microsoft.graph.certificateBasedAuthConfiguration",
        CBA_READ,
        write=("Organization.ReadWrite.All",),
        methods=_GET_POST,
        item_methods=frozenset({"GET", "DELETE"}),
        page_size=None,
    ),
    Resource(
        "/directory/onPremisesSynchronization",
        "set",
        "microsoft.graph.onPremisesDirectorySynchronization",
        ONPREM_SYNC_READ,
        write=("OnPremDirectorySynchronization.ReadWrite.All",),
        item_methods=frozenset({"GET", "PATCH"}),
        page_size=None,
    ),
    Resource(
        "/domains",
        "set",
        "microsoft.graph.domain",
        DOMAIN_READ,
        write=("Domain.ReadWrite.All",),
        item_methods=_SETTING_ITEM,
        page_size=None,
    ),
    Resource("/subscribedSkus", "set", "microsoft.graph.subscribedSku", SKU_READ, cost=3, page_size=None),
    # Tenant-wide settings: beta /settings (directorySetting), v1.0 /groupSettings (groupSetting); one store.
    Resource(
        "/settings",
        "set",
        "microsoft.graph.directorySetting",
        SETTINGS_READ,
        write=SETTINGS_WRITE,
        versions=BETA,
        methods=_GET_POST,
        item_methods=_SETTING_ITEM,
        page_size=None,
        on_create=_group_setting_created,
        extra={"stamps": ()},
    ),
    Resource(
        "/groupSettings",
        "set",
        "microsoft.graph.groupSetting",
        SETTINGS_READ,
        write=SETTINGS_WRITE,
        versions=V1,
        store_key="settings",
        methods=_GET_POST,
        item_methods=_SETTING_ITEM,
        page_size=None,
        on_create=_group_setting_created,
        extra={"stamps": ()},
    ),
    Resource(
        "/groups/{id}/settings",
        "set",
        "microsoft.graph.groupSetting",
        GROUP_SETTINGS_READ,
        write=GROUP_SETTINGS_WRITE,
        versions=V1,
        methods=_GET_POST,
        item_methods=_SETTING_ITEM,
        page_size=None,
        on_create=_group_specific_setting_created,
        extra={"stamps": ()},
    ),
    Resource(
        "/groups/{id}/settings",
        "set",
        "microsoft.graph.directorySetting",
        GROUP_SETTINGS_READ,
        write=GROUP_SETTINGS_WRITE,
        versions=BETA,
        methods=_GET_POST,
        item_methods=_SETTING_ITEM,
        page_size=None,
        on_create=_group_specific_setting_created,
        extra={"stamps": ()},
    ),
    Resource(
        "/directorySettingTemplates",
        "set",
        "microsoft.graph.directorySettingTemplate",
        TEMPLATES_READ,
        versions=BETA,
        page_size=None,
    ),
    Resource(
        "/groupSettingTemplates",
        "set",
        "microsoft.graph.groupSettingTemplate",
        TEMPLATES_READ,
        versions=V1,
        store_key="directorySettingTemplates",
        page_size=None,
    ),
    # Custom security attributes.
    Resource(
        "/directory/attributeSets",
        "set",
        "microsoft.graph.attributeSet",
        CSA_READ,
        write=CSA_WRITE,
        item_methods=frozenset({"GET", "PATCH"}),
    ),
    Resource(
        "/directory/customSecurityAttributeDefinitions",
        "set",
        "microsoft.graph.customSecurityAttributeDefinition",
        CSA_READ,
        write=CSA_WRITE,
        methods=_GET_POST,
        item_methods=frozenset({"GET", "PATCH"}),
        on_create=_definition_created,
        extra={"stamps": ()},
        expand={
            "allowedValues": Expansion(
                "contained", "directory/customSecurityAttributeDefinitions/{id}/allowedValues"
            )
        },
    ),
    Resource(
        "/directory/customSecurityAttributeDefinitions/{id}/allowedValues",
        "set",
        "microsoft.graph.allowedValue",
        CSA_READ,
        write=CSA_WRITE,
        item_methods=frozenset({"GET", "PATCH"}),
    ),
    # Built-in role templates (directoryObjects).
    Resource(
        "/directoryRoleTemplates",
        "set",
        "microsoft.graph.directoryRoleTemplate",
        ROLE_TEMPLATE_READ,
        directory_object=True,
        page_size=None,
    ),
    # Devices.
    Resource(
        "/devices",
        "set",
        "microsoft.graph.device",
        DEVICE_READ,
        write=DEVICE_WRITE,
        methods=_GET_POST,
        item_methods=_SETTING_ITEM,
        delta=True,
        directory_object=True,
        expand={
            "registeredOwners": Expansion("links", "devices/registeredOwners"),
            "registeredUsers": Expansion("links", "devices/registeredUsers"),
        },
        on_create=_device_created,
        extra={"stamps": ()},
    ),
    Resource(
        "/devices/{id}/registeredOwners",
        "links",
        "microsoft.graph.directoryObject",
        DEVICE_READ,
        write=DEVICE_WRITE,
        methods=_GET_POST,
    ),
    Resource(
        "/devices/{id}/registeredUsers",
        "links",
        "microsoft.graph.directoryObject",
        DEVICE_READ,
        write=DEVICE_WRITE,
        methods=_GET_POST,
    ),
    # Administrative units.
    Resource(
        "/directory/administrativeUnits",
        "set",
        "microsoft.graph.administrativeUnit",
        AU_READ,
        write=AU_WRITE,
        methods=_GET_POST,
        item_methods=_SETTING_ITEM,
        delta=True,
        soft_delete=True,
        directory_object=True,
        expand={"members": Expansion("links", "directory/administrativeUnits/members")},
        on_create=_au_created,
        extra={"stamps": ()},
    ),
    Resource(
        "/directory/administrativeUnits/{id}/members",
        "links",
        "microsoft.graph.directoryObject",
        AU_READ,
        write=AU_WRITE,
        methods=_GET_POST,
    ),
    Resource(
        "/directory/administrativeUnits/{id}/scopedRoleMembers",
        "set",
        "microsoft.graph.scopedRoleMembership",
        SCOPED_ROLE_READ,
        source="scopedRoleMemberships",
        match=(("administrativeUnitId", "id"),),
    ),
    # Microsoft Entra Backup and Recovery.
    Resource(
        "/directory/recovery/snapshots",
        "set",
        "microsoft.graph.entraRecoveryServices.snapshot",
        BACKUP_READ,
        page_size=None,
    ),
]


# --- generation -----------------------------------------------------------------------------------------


def _plans(*plans: tuple[str, str, str]) -> list[JSON]:
    return [
        {"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"}
        for pid, name, _ in plans
    ]


def _sku_catalog(licenses: set[str]) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """(skuId, skuPartNumber, service plans) of the tenant's subscriptions, given its Entra licences."""
    have = effective(licenses)
    entra_p1 = [PLAN_AAD_P1] if P1 in have else []
    entra_p2 = [PLAN_AAD_P2] if P2 in have else []
    e3 = [PLAN_EXCHANGE, PLAN_SHAREPOINT, PLAN_TEAMS, PLAN_OFFICE, PLAN_INTUNE, PLAN_RMS, PLAN_MFA, *entra_p1]
    e5 = [*e3, PLAN_CAS, *entra_p2]
    catalog = [(SKU_E3, "SPE_E3", e3), (SKU_E5, "SPE_E5", e5)]
    if P2 in have:
        catalog.append((SKU_AAD_P2, "AAD_PREMIUM_P2", [PLAN_MFA, PLAN_AAD_P1, PLAN_AAD_P2]))
    return catalog


def _org_name(domain: str) -> str:
    label = domain.split(".", maxsplit=1)[0]
    return label.rstrip("0123456789").capitalize() or "Contoso"


def _domains(store: Store, ctx: Context) -> list[JSON]:
    base = _org_name(ctx.domain).lower()
    initial = ctx.domain
    custom = [f"{base}.com", f"corp.{base}.com", f"{base}-partners.com"]
    out: list[JSON] = [
        {
            "id": initial,
            "authenticationType": "Managed",
            "availabilityStatus": None,
            "isAdminManaged": True,
            "isDefault": False,
            "isInitial": True,
            "isRoot": True,
            "isVerified": True,
            "passwordNotificationWindowInDays": 14,
            "passwordValidityPeriodInDays": 2147483647,
            "state": None,
            "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        }
    ]
    for index, name in enumerate(custom):
        federated = index == 1
        out.append(
            {
                "id": name,
                "authenticationType": "Federated" if federated else "Managed",
                "availabilityStatus": None,
                "isAdminManaged": True,
                "isDefault": index == 0,
                "isInitial": False,
                "isRoot": name.count(".") == 1,
                "isVerified": True,
                "passwordNotificationWindowInDays": 14,
                "passwordValidityPeriodInDays": 2147483647,
                "state": None,
                "supportedServices": ["Email", "OfficeCommunicationsOnline", "Intune"]
                if index == 0
                else ["Email"],
            }
        )
    out.append(
        {
            "id": f"{base}.dev",
            "authenticationType": "Managed",
            "availabilityStatus": None,
            "isAdminManaged": True,
            "isDefault": False,
            "isInitial": False,
            "isRoot": True,
            "isVerified": False,
            "passwordNotificationWindowInDays": None,
            "passwordValidityPeriodInDays": None,
            "state": None,
            "supportedServices": [],
        }
    )
    return out


def _organization(
    store: Store, ctx: Context, domains: list[JSON], skus: list[tuple[str, str, list[tuple[str, str, str]]]]
) -> JSON:
    name = _org_name(ctx.domain)
    created = ctx.time(2500, 1600)
    seen: set[str] = set()
    assigned: list[JSON] = []
    provisioned: list[JSON] = []
    for _, _, plans in skus:
        for pid, _, service in plans:
            if pid in seen:
                continue
            seen.add(pid)
            assigned.append(
                {
                    "assignedDateTime": ctx.time(1600, 30),
                    "capabilityStatus": "Enabled",
                    "service": service,
                    "servicePlanId": pid,
                }
            )
            provisioned.append(
                {"capabilityStatus": "Enabled", "provisioningStatus": "Success", "service": service}
            )
    synced = any(u.get("onPremisesSyncEnabled") for u in _first(store, "users", 50))
    return {
        "id": ctx.tenant_id,
        "deletedDateTime": None,
        "businessPhones": ["425-555-0100"],
        "city": "Redmond",
        "country": None,
        "countryLetterCode": "US",
        "createdDateTime": created,
        "defaultUsageLocation": "US",
        "displayName": name,
        "marketingNotificationEmails": [],
        "mobileDeviceManagementAuthority": "intune",
        "onPremisesLastSyncDateTime": ctx.time(1, 0) if synced else None,
        "onPremisesSyncEnabled": True if synced else None,
        "partnerTenantType": None,
        "postalCode": "98052",
        "preferredLanguage": "en",
        "privacyProfile": {
            "contactEmail": f"privacy@{domains[1]['id']}",
            "statementUrl": f"https://{domains[1]['id']}/privacy",
        },
        "provisionedPlans": provisioned,
        "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [],
        "state": "WA",
        "street": "One Microsoft Way",
        "technicalNotificationMails": [f"admin@{ctx.domain}"],
        "tenantType": "AAD",
        "assignedPlans": assigned,
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline"
                if d["isInitial"]
                else ", ".join(d["supportedServices"]) or "None",
                "isDefault": d["isDefault"],
                "isInitial": d["isInitial"],
                "name": d["id"],
                "type": d["authenticationType"],
            }
            for d in domains
            if d["isVerified"]
        ],
    }


def _first(store: Store, key: str, count: int) -> list[JSON]:
    entity_set = store.sets.get(key)
    if entity_set is None:
        return []
    out = []
    for obj in entity_set.after():
        out.append(obj)
        if len(out) == count:
            break
    return out


def _branding(store: Store, ctx: Context, name: str) -> None:
    org_key = f"organization/{ctx.tenant_id}/branding"
    common: JSON = {
        "backgroundColor": "#FFFFFF",
        "backgroundImageRelativeUrl": None,
        "bannerLogoRelativeUrl": f"{ctx.tenant_id}/logintenantbranding/0/bannerlogo?ts={ctx.rng.getrandbits(56)}",
        "cdnList": [
            "secure.aadcdn.microsoftonline-p.com",
            "aadcdn.msftauthimages.net",
            "aadcdn.msauthimages.net",
        ],
        "customAccountResetCredentialsUrl": None,
        "customCannotAccessYourAccountText": None,
        "customCannotAccessYourAccountUrl": None,
        "customCSSRelativeUrl": None,
        "customForgotMyPasswordText": None,
        "customPrivacyAndCookiesText": None,
        "customPrivacyAndCookiesUrl": None,
        "customResetItNowText": None,
        "customTermsOfUseText": None,
        "customTermsOfUseUrl": None,
        "faviconRelativeUrl": None,
        "headerBackgroundColor": None,
        "headerLogoRelativeUrl": None,
        "loginPageLayoutConfiguration": {
            "layoutTemplateType": "default",
            "isHeaderShown": False,
            "isFooterShown": True,
        },
        "loginPageTextVisibilitySettings": {
            "hideCannotAccessYourAccount": None,
            "hideForgotMyPassword": None,
            "hideResetItNow": None,
            "hideTermsOfUse": True,
            "hidePrivacyAndCookies": True,
            "hideAccountResetCredentials": False,
        },
        "signInPageText": f"Welcome to {name}",
        "squareLogoRelativeUrl": None,
        "squareLogoDarkRelativeUrl": None,
        "usernameHintText": f"someone@{name.lower()}.com",
    }
    store.singletons[org_key] = {"id": "0", **common}
    store.add(f"{org_key}/localizations", {"id": "0", **common})
    store.add(
        f"{org_key}/localizations",
        {
            "id": "fr-FR",
            **common,
            "signInPageText": f"Bienvenue chez {name}",
            "usernameHintText": f"quelquun@{name.lower()}.com",
            "bannerLogoRelativeUrl": None,
        },
    )


def _certificate_configuration(store: Store, ctx: Context, name: str) -> None:
    fake_der = base64.b64encode(bytes(ctx.rng.getrandbits(8) for _ in range(96))).decode()
    ski = "".join(f"{ctx.rng.getrandbits(8):02X}" for _ in range(20))
    store.add(
        f"organization/{ctx.tenant_id}/certificateBasedAuthConfiguration",
        {
            "id": CBA_CONFIGURATION_ID,
            "certificateAuthorities": [
                {
                    "isRootAuthority": True,
                    "certificate": fake_der,
                    "certificateRevocationListUrl": f"http://pki.{name.lower()}.com/crl/root.crl",
                    "deltaCertificateRevocationListUrl": None,
                    "issuer": f"CN={name} Root CA, O={name}, C=US",
                    "issuerSki": ski,
                }
            ],
        },
    )


def _on_premises_sync(store: Store, ctx: Context) -> None:
    store.add(
        "directory/onPremisesSynchronization",
        {
            "id": ctx.tenant_id,
            "configuration": {
                "accidentalDeletionPrevention": {
                    "synchronizationPreventionType": "enabledForCount",
                    "alertThreshold": 500,
                },
            },
            "features": {
                "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": False,
                "blockCloudObjectTakeoverThroughHardMatchEnabled": True,
                "blockSoftMatchEnabled": False,
                "bypassDirSyncOverridesEnabled": False,
                "cloudPasswordPolicyForPasswordSyncedUsersEnabled": False,
                "concurrentCredentialUpdateEnabled": False,
                "concurrentOrgIdProvisioningEnabled": True,
                "deviceWritebackEnabled": False,
                "directoryExtensionsEnabled": False,
                "fopeConflictResolutionEnabled": False,
                "groupWriteBackEnabled": True,
                "passwordSyncEnabled": True,
                "passwordWritebackEnabled": ctx.chance(0.5),
                "quarantineUponProxyAddressesConflictEnabled": True,
                "quarantineUponUpnConflictEnabled": True,
                "softMatchOnUpnEnabled": True,
                "synchronizeUpnForManagedUsersEnabled": True,
                "unifiedGroupWritebackEnabled": True,
                "userForcePasswordChangeOnLogonEnabled": False,
                "userWritebackEnabled": False,
            },
        },
    )


def _subscribed_skus(
    store: Store, ctx: Context, skus: list[tuple[str, str, list[tuple[str, str, str]]]], name: str
) -> None:
    consumed: dict[str, int] = {}
    users = store.sets.get("users")
    for user in users.after() if users is not None else ():
        for lic in user.get("assignedLicenses", ()):
            consumed[lic["skuId"]] = consumed.get(lic["skuId"], 0) + 1
    for sku_id, part, plans in skus:
        used = consumed.get(sku_id, 0)
        store.add(
            "subscribedSkus",
            {
                "id": f"{ctx.tenant_id}_{sku_id}",
                "accountId": ctx.tenant_id,
                "accountName": name,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": used,
                "prepaidUnits": {
                    "enabled": used + 25 + used // 10,
                    "lockedOut": 0,
                    "suspended": 0,
                    "warning": 0,
                },
                "servicePlans": _plans(*plans),
                "skuId": sku_id,
                "skuPartNumber": part,
                "subscriptionIds": [ctx.uuid()],
            },
        )


def _settings(store: Store, ctx: Context) -> None:
    for template_id, (display, description, values) in SETTING_TEMPLATES.items():
        store.add(
            "directorySettingTemplates",
            {
                "id": template_id,
                "displayName": display,
                "description": description,
                "values": [
                    {"name": n, "type": t, "defaultValue": d, "description": desc} for n, t, d, desc in values
                ],
            },
            directory_object=True,
        )
    groups = store.sets.get("groups")
    group_ids = groups.ids() if groups is not None else []
    security = [g for g in group_ids if "Unified" not in groups.objects[g]["groupTypes"]] if groups else []
    overrides: dict[str, dict[str, str]] = {
        GROUP_UNIFIED_TEMPLATE: {
            "EnableGroupCreation": "false",
            "GroupCreationAllowedGroupId": security[0] if security else "",
            "UsageGuidelinesUrl": f"https://{ctx.domain}/groups/guidelines",
            "ClassificationList": "General,Confidential,Highly Confidential",
            "DefaultClassification": "General",
            "PrefixSuffixNamingRequirement": "GRP-[Department]-[GroupName]",
            "AllowGuestsToBeGroupOwner": "false",
        },
        PASSWORD_RULE_TEMPLATE: {
            "LockoutThreshold": "5",
            "LockoutDurationInSeconds": "300",
            "EnableBannedPasswordCheck": "true",
            "BannedPasswordList": "contoso\tpassword\twinter2025",
            "BannedPasswordCheckOnPremisesMode": "Enforced",
        },
        CONSENT_POLICY_TEMPLATE: {
            "EnableAdminConsentRequests": "true",
            "EnableGroupSpecificConsent": "false",
        },
    }
    for template_id, changed in overrides.items():
        display, _, values = SETTING_TEMPLATES[template_id]
        store.add(
            "settings",
            {
                "id": ctx.uuid(),
                "displayName": display,
                "templateId": template_id,
                "values": [{"name": n, "value": changed.get(n, d)} for n, _, d, _ in values],
            },
        )
    # group-specific settings: only on Microsoft 365 groups (see _group_specific_setting_created)
    unified = [g for g in group_ids if "Unified" in groups.objects[g]["groupTypes"]] if groups else []
    for gid in ctx.sample(unified, max(1, len(unified) // 10)):
        store.add(
            f"groups/{gid}/settings",
            {
                "id": ctx.uuid(),
                "displayName": "Group.Unified.Guest",
                "templateId": GROUP_UNIFIED_GUEST_TEMPLATE,
                "values": [{"name": "AllowToAddGuests", "value": "false"}],
            },
        )


def _custom_security_attributes(store: Store) -> None:
    for name, description, maximum in ATTRIBUTE_SETS:
        store.add(
            "directory/attributeSets",
            {"id": name, "description": description, "maxAttributesPerSet": maximum},
        )
    for attribute_set, name, description, kind, collection, predefined, allowed in ATTRIBUTE_DEFINITIONS:
        definition_id = f"{attribute_set}_{name}"
        store.add(
            "directory/customSecurityAttributeDefinitions",
            {
                "id": definition_id,
                "attributeSet": attribute_set,
                "description": description,
                "isCollection": collection,
                "isSearchable": True,
                "name": name,
                "status": "Deprecated" if name == "Certified" else "Available",
                "type": kind,
                "usePreDefinedValuesOnly": predefined,
            },
        )
        for index, value in enumerate(allowed):
            store.add(
                f"directory/customSecurityAttributeDefinitions/{definition_id}/allowedValues",
                {"id": value, "isActive": index < len(allowed) - 1 or len(allowed) < 3},
            )


def _role_templates(store: Store) -> None:
    for template_id, display, description in ROLE_TEMPLATES:
        store.add(
            "directoryRoleTemplates",
            {"id": template_id, "deletedDateTime": None, "description": description, "displayName": display},
            directory_object=True,
        )


def _devices(store: Store, ctx: Context) -> list[str]:
    rng = ctx.rng
    users = store.sets.get("users")
    members = list(users.index("userType").get("member", [])) if users is not None else []
    device_ids: list[str] = []
    created: list[JSON] = []
    for index in range(ctx.plan.devices):
        os_name, versions, hardware = DEVICE_KINDS[
            0 if rng.random() < 0.55 else rng.randrange(1, len(DEVICE_KINDS))
        ]
        manufacturer, model = hardware[rng.randrange(len(hardware))]
        windows = os_name == "Windows"
        trust = rng.choice(["AzureAd", "AzureAd", "ServerAd"]) if windows else "Workplace"
        if os_name == "macOS" and rng.random() < 0.3:
            trust = "AzureAd"
        managed = trust != "Workplace" or rng.random() < 0.6
        personal = trust == "Workplace" and rng.random() < 0.5
        compliant = managed and rng.random() < 0.85
        synced = trust == "ServerAd"
        object_id = ctx.uuid()
        device_id = ctx.uuid()
        owner = members[rng.randrange(len(members))] if members and trust != "ServerAd" else None
        prefix = {"Windows": "DESKTOP", "iOS": "iPhone", "Android": "Android", "macOS": "MacBook"}[os_name]
        display = f"{prefix}-{object_id[:7].upper()}" if windows else f"{prefix} {index}"
        key = base64.b64encode(f"X509:<SHA1-TP-PUBKEY>{device_id}".encode("utf-16-le")).decode()
        device: JSON = {
            "id": object_id,
            "deletedDateTime": None,
            "accountEnabled": rng.random() > 0.03,
            "alternativeSecurityIds": [{"type": 2, "identityProvider": None, "key": key}],
            "approximateLastSignInDateTime": ctx.time(60, 0),
            "complianceExpirationDateTime": None,
            "deviceCategory": None,
            "deviceId": device_id,
            "deviceMetadata": None,
            "deviceOwnership": "Personal" if personal else "Company",
            "deviceVersion": 2,
            "displayName": display,
            "enrollmentProfileName": None,
            "enrollmentType": ("AzureDomainJoined" if trust == "AzureAd" else "OnPremiseCoManaged")
            if windows and managed
            else ("UserEnrollment" if managed else None),
            "isCompliant": compliant if managed else None,
            "isManaged": managed,
            "isManagementRestricted": False,
            "isRooted": False,
            "managementType": "MDM" if managed else None,
            "manufacturer": manufacturer,
            "mdmAppId": INTUNE_MDM_APP_ID if managed else None,
            "model": model,
            "onPremisesLastSyncDateTime": ctx.time(1, 0) if synced else None,
            "onPremisesSecurityIdentifier": f"S-1-5-21-1004336348-1177238915-682003330-{200000 + index}"
            if synced
            else None,
            "onPremisesSyncEnabled": True if synced else None,
            "operatingSystem": os_name,
            "operatingSystemVersion": versions[rng.randrange(len(versions))],
            "physicalIds": [
                f"[USER-GID]:{owner}:6825761036335000" if owner else f"[GID]:g:{6966 + index}",
                f"[AzureResourceId]:{object_id}",
            ]
            if windows
            else [],
            "profileType": "RegisteredDevice",
            "registrationDateTime": ctx.time(1200, 1),
            "systemLabels": [],
            "trustType": trust,
        }
        created.append(device)
        device_ids.append(object_id)
        if owner is not None:
            store.link("devices/registeredOwners", object_id, owner)
            store.link("devices/registeredUsers", object_id, owner)
            if rng.random() < 0.05:  # a shared device with a second user
                store.link("devices/registeredUsers", object_id, members[rng.randrange(len(members))])
    for device in sorted(created, key=lambda d: str(d["id"])):  # in id order: each insert is an append
        store.add("devices", device, directory_object=True)
    # A few security (non-Unified) groups also hold devices.
    groups = store.sets.get("groups")
    if groups is not None and device_ids:
        security = [g for g in groups.ids() if not groups.objects[g]["groupTypes"]]
        for gid in ctx.sample(security, max(1, len(security) // 10)):
            for did in ctx.sample(device_ids, rng.randrange(1, 1 + min(20, len(device_ids)))):
                store.link("groups/members", gid, did)
    return device_ids


def _administrative_units(store: Store, ctx: Context, device_ids: list[str]) -> None:
    rng = ctx.rng
    users = store.sets.get("users")
    user_ids = users.ids() if users is not None else []
    groups = store.sets.get("groups")
    group_ids = groups.ids() if groups is not None else []
    by_department = users.index("department") if users is not None else {}
    by_city = users.index("city") if users is not None else {}
    departments = sorted(d for d in by_department if isinstance(d, str))
    cities = sorted(c for c in by_city if isinstance(c, str))
    for index in range(ctx.plan.administrative_units):
        object_id = ctx.uuid()
        dynamic = index % 3 == 1 and (departments or cities)
        restricted = index % 5 == 3
        hidden = index % 4 == 2
        rule = None
        members: list[str] = []
        if dynamic:
            if index % 2 and cities:
                city = cities[rng.randrange(len(cities))]
                display_city = users.objects[by_city[city][0]]["city"] if users is not None else city
                rule = f'(user.city -eq "{display_city}")'
                members = by_city[city]
                name = f"{display_city} office"
            else:
                department = departments[rng.randrange(len(departments))]
                display_department = (
                    users.objects[by_department[department][0]]["department"] if users else department
                )
                rule = f'(user.department -eq "{display_department}")'
                members = by_department[department]
                name = f"{display_department} department"
        else:
            name = rng.choice(["Region", "Campus", "Division", "Business unit", "School", "Subsidiary"])
            name = f"{name} {index + 1:03d}"
            members = ctx.sample(user_ids, rng.randrange(0, 40))
            members += ctx.sample(group_ids, rng.randrange(0, 5))
            members += ctx.sample(device_ids, rng.randrange(0, 5))
        if restricted:
            name = f"Restricted - {name}"
        store.add(
            "directory/administrativeUnits",
            {
                "id": object_id,
                "deletedDateTime": None,
                "description": None if rng.random() < 0.2 else f"Delegated administration for {name}",
                "displayName": name,
                "isMemberManagementRestricted": restricted,
                "membershipRule": rule,
                "membershipRuleProcessingState": ("Paused" if index % 7 == 4 else "On") if rule else None,
                "membershipType": "Dynamic" if rule else "Assigned",
                "visibility": "HiddenMembership" if hidden else None,
            },
            directory_object=True,
        )
        # Assigned directly: store.link's duplicate check is quadratic for large dynamic memberships.
        store.links.setdefault("directory/administrativeUnits/members", {})[object_id] = list(
            dict.fromkeys(members)
        )
    store.set("scopedRoleMemberships")  # filled by the roles area


def _snapshots(store: Store) -> None:
    for days in range(1, 6):
        taken = EPOCH - timedelta(days=days) + timedelta(hours=2, minutes=14, seconds=days * 7)
        stamp = isotime(taken)
        store.add(
            "directory/recovery/snapshots",
            {
                "id": base64.b64encode(stamp.encode()).decode(),
                "createdDateTime": stamp,
                "totalChangedObjects": 40 + (days * 37) % 90,
            },
        )


def populate(store: Store, ctx: Context) -> None:
    """The tenant's organization object and everything hanging off the directory (see module docstring)."""
    domains = _domains(store, ctx)
    for domain in domains:
        store.add("domains", domain)
    skus = _sku_catalog(store.licenses)
    organization = _organization(store, ctx, domains, skus)
    store.add("organization", organization, directory_object=True)
    name = str(organization["displayName"])
    _branding(store, ctx, name)
    _certificate_configuration(store, ctx, name)
    _on_premises_sync(store, ctx)
    _subscribed_skus(store, ctx, skus, name)
    _settings(store, ctx)
    _custom_security_attributes(store)
    _role_templates(store)
    device_ids = _devices(store, ctx)
    _administrative_units(store, ctx, device_ids)
    _snapshots(store)
