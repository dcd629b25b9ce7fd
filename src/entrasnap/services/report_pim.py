"""Privileged Identity Management: who is eligible for or active in each role, and the role's settings."""

from __future__ import annotations

import re
from typing import Any

from entrasnap.services.report_model import Badge, Facts, Para, Phrase, Ref, Section, Table, join
from entrasnap.services.report_names import Names, objects, records
from entrasnap.services.timeline import SnapshotView

PRINCIPAL_KINDS = {"users": "User", "groups": "Group", "servicePrincipals": "Service principal"}
ENABLEMENT = {
    "MultiFactorAuthentication": "MFA",
    "Justification": "justification",
    "Ticketing": "ticket information",
}


def duration(value: Any) -> str:
    """An ISO 8601 duration in words: PT8H → 8 hours, P365D → 365 days."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", str(value or ""))
    if not match or not any(match.groups()):
        return str(value) if value else "not set"
    parts = []
    for number, unit in zip(match.groups(), ("day", "hour", "minute"), strict=True):
        if number:
            parts.append(f"{int(number)} {unit}{'s' if int(number) != 1 else ''}")
    return " ".join(parts)


def _rule(rules: list[dict[str, Any]], rule_id: str) -> dict[str, Any]:
    return next((r for r in rules if r.get("id") == rule_id), {})


def settings(rules: list[dict[str, Any]], names: Names) -> list[tuple[str, Phrase]]:
    """The settings an auditor asks about, from a role management policy's rules."""
    rows: list[tuple[str, Phrase]] = []
    activation = _rule(rules, "Expiration_EndUser_Assignment")
    rows.append(("Activation maximum duration", [duration(activation.get("maximumDuration"))]))
    enabled = [ENABLEMENT.get(r, r) for r in activation_rules(rules)]
    rows.append(("On activation, require", [", ".join(enabled) if enabled else "nothing"]))
    approval = _rule(rules, "Approval_EndUser_Assignment").get("setting") or {}
    if approval.get("isApprovalRequired"):
        approvers: list[Phrase] = []
        for stage in approval.get("approvalStages") or []:
            for approver in stage.get("primaryApprovers") or []:
                oid = approver.get("userId") or approver.get("groupId") or approver.get("id")
                if oid:
                    approvers.append([names.ref(str(oid))])
        phrase: Phrase = [Badge("approval required", "warn")]
        if approvers:
            phrase += [" by ", *join(approvers)]
        rows.append(("Approval", phrase))
    else:
        rows.append(("Approval", ["not required"]))
    eligibility = _rule(rules, "Expiration_Admin_Eligibility")
    rows.append(("Eligible assignments", [_expiry(eligibility)]))
    active = _rule(rules, "Expiration_Admin_Assignment")
    rows.append(("Active assignments", [_expiry(active)]))
    return rows


def activation_rules(rules: list[dict[str, Any]]) -> list[str]:
    return [str(r) for r in _rule(rules, "Enablement_EndUser_Assignment").get("enabledRules") or []]


def _expiry(rule: dict[str, Any]) -> str:
    if not rule:
        return "not set"
    if rule.get("isExpirationRequired"):
        return f"expire after at most {duration(rule.get('maximumDuration'))}"
    return "may be permanent"


def _until(schedule: dict[str, Any]) -> str:
    expiration = (schedule.get("scheduleInfo") or {}).get("expiration") or {}
    if expiration.get("type") == "noExpiration" or not expiration:
        return "permanent"
    if expiration.get("endDateTime"):
        return f"until {str(expiration['endDateTime'])[:10]}"
    return f"for {duration(expiration.get('duration'))}"


class Principals:
    """Principal cells: name and kind (guests marked)."""

    def __init__(self, view: SnapshotView, names: Names) -> None:
        self.view, self.names = view, names

    def cells(self, principal_id: str) -> tuple[Phrase, Phrase]:
        key = self.names.type_of(principal_id)
        kind = PRINCIPAL_KINDS.get(key or "", "unknown")
        if key == "users":
            found = self.view.get("users", principal_id)
            if found is not None and found.record["object"].get("userType") == "Guest":
                kind = "Guest user"
        return [self.names.ref(principal_id, kind.lower())], [kind]

    def scope(self, scope_id: Any) -> Phrase:
        text = str(scope_id or "/")
        if text == "/":
            return ["whole directory"]
        object_id = text.rsplit("/", 1)[-1]
        return [self.names.ref(object_id)]


def _rows(items: list[tuple[str, dict[str, Any]]], principals: Principals) -> list[list[Phrase]]:
    rows: list[list[Phrase]] = []
    for how, schedule in items:
        who, kind = principals.cells(str(schedule.get("principalId")))
        tone = "info" if how == "Eligible" else ("bad" if how.startswith("Active (permanent") else "warn")
        scope = principals.scope(schedule.get("directoryScopeId"))
        rows.append([who, kind, [Badge(how, tone)], scope, [_until(schedule)]])
    return rows


def role_sections(view: SnapshotView, names: Names) -> list[Section]:
    """One subsection per role that has eligible or active principals."""
    principals = Principals(view, names)
    by_role: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for schedule in objects(view, "roleEligibilitySchedules"):
        by_role.setdefault(str(schedule.get("roleDefinitionId")), []).append(("Eligible", schedule))
    for schedule in objects(view, "roleAssignmentSchedules"):
        key = (
            str(schedule.get("roleDefinitionId")),
            str(schedule.get("principalId")),
            str(schedule.get("directoryScopeId")),
        )
        seen.add(key)
        how = "Active (activated)" if schedule.get("assignmentType") == "Activated" else "Active (assigned)"
        by_role.setdefault(key[0], []).append((how, schedule))
    for assignment in objects(view, "roleAssignments"):
        key = (
            str(assignment.get("roleDefinitionId")),
            str(assignment.get("principalId")),
            str(assignment.get("directoryScopeId")),
        )
        if key not in seen:
            by_role.setdefault(key[0], []).append(("Active (permanent, outside PIM)", assignment))
    policy_of = {
        str(a.get("roleDefinitionId")).lower(): str(a.get("policyId"))
        for a in objects(view, "roleManagementPolicyAssignments")
    }
    rules_of = {
        str(r["id"]): list((r.get("children") or {}).get("rules") or [])
        for r in records(view, "roleManagementPolicies")
    }
    sections = []
    for role_id, items in sorted(by_role.items(), key=lambda kv: (names.name(kv[0]) or "~", kv[0])):
        role = names.ref(role_id, "role")
        blocks: list[Para | Facts | Table] = [
            Table(["Principal", "Type", "Assignment", "Scope", "Duration"], _rows(items, principals))
        ]
        rules = rules_of.get(policy_of.get(role_id.lower(), ""), [])
        if rules:
            blocks.append(Facts(settings(rules, names)))
        else:
            blocks.append(Para(["Role settings were not captured in this snapshot."], "note"))
        eligible = sum(1 for how, _ in items if how == "Eligible")
        title = role.name if role.name is not None else f"unknown object {role_id}"
        section = Section(
            f"pim-role-{role_id}",
            title,
            blocks,
            badge=Badge(f"{eligible} eligible / {len(items) - eligible} active", "info"),
        )
        sections.append(section)
    return sections


def group_sections(view: SnapshotView, names: Names) -> list[Section]:
    """PIM for groups: one subsection per group with eligible or active members or owners."""
    principals = Principals(view, names)
    by_group: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for schedule in objects(view, "groupEligibilitySchedules"):
        by_group.setdefault(str(schedule.get("groupId")), []).append(("Eligible", schedule))
    for schedule in objects(view, "groupAssignmentSchedules"):
        how = "Active (activated)" if schedule.get("assignmentType") == "activated" else "Active (assigned)"
        by_group.setdefault(str(schedule.get("groupId")), []).append((how, schedule))
    rules_of = {
        str(r["object"].get("scopeId")).lower(): list((r.get("children") or {}).get("rules") or [])
        for r in records(view, "groupRoleManagementPolicies")
    }
    sections = []
    for group_id, items in sorted(by_group.items(), key=lambda kv: (names.name(kv[0]) or "~", kv[0])):
        rows: list[list[Phrase]] = []
        for how, schedule in items:
            who, kind = principals.cells(str(schedule.get("principalId")))
            tone = "info" if how == "Eligible" else "warn"
            rows.append(
                [who, kind, [str(schedule.get("accessId", ""))], [Badge(how, tone)], [_until(schedule)]]
            )
        blocks: list[Para | Facts | Table] = [
            Table(["Principal", "Type", "Access", "Assignment", "Duration"], rows)
        ]
        rules = rules_of.get(group_id.lower())
        if rules:
            blocks.append(Facts(settings(rules, names)))
        group: Ref = names.ref(group_id, "group")
        title = group.name if group.name is not None else f"unknown object {group_id}"
        sections.append(Section(f"pim-group-{group_id}", title, blocks))
    return sections
