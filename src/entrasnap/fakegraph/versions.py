"""Where beta shapes a type differently from v1.0, for objects both versions serve from one store.

From Microsoft's per-version property lists (graph-schema, v1.0 and beta): beta renames a few
properties and lacks a few that v1.0 has. The engine applies this view to beta responses.
"""

from __future__ import annotations

from collections.abc import Mapping

# type -> (v1.0 name -> beta name)
BETA_RENAMES: Mapping[str, Mapping[str, str]] = {
    "microsoft.graph.appRoleAssignment": {"createdDateTime": "creationTimestamp"},
    "microsoft.graph.servicePrincipal": {"oauth2PermissionScopes": "publishedPermissionScopes"},
}
# type -> dotted paths of v1.0 properties that beta does not have
BETA_MISSING: Mapping[str, tuple[str, ...]] = {
    "microsoft.graph.application": ("addIns", "applicationTemplateId", "oauth2RequirePostResponse"),
    "microsoft.graph.servicePrincipal": ("resourceSpecificApplicationPermissions",),
    "microsoft.graph.authorizationPolicy": ("defaultUserRolePermissions.permissionGrantPoliciesAssigned",),
}
