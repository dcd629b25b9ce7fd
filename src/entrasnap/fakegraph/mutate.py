"""Realistic changes to a fake tenant, applied to its Store as an administrator would make them.

Every function records its changes in ``store.changes`` exactly as the engine does for the same write over
Graph (object upserts, deletions with ``permanent``, link additions/removals), so that delta queries see
them. ``apply(store, {"action": ..., ...})`` is what the admin endpoint ``POST /_fakegraph/mutate`` runs;
it answers a summary of the recorded changes.
"""

from __future__ import annotations

import base64
import copy
import math
import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from entrasnap.fakegraph.names import DEPARTMENTS, JOB_TITLES, ascii_nickname, person
from entrasnap.fakegraph.recycle import KINDS
from entrasnap.fakegraph.state import JSON, DeletedItem, Store, isotime, utcnow

CA_POLICIES = "identity/conditionalAccess/policies"
ELIGIBILITY_SCHEDULES = "roleManagement/directory/roleEligibilitySchedules"
ELIGIBILITY_INSTANCES = "roleManagement/directory/roleEligibilityScheduleInstances"
ELIGIBILITY_REQUESTS = "roleManagement/directory/roleEligibilityScheduleRequests"
ROLE_DEFINITIONS = "roleManagement/directory/roleDefinitions"
SOFT_DELETE_SETS = frozenset(key for key, _ in KINDS.values())
CA_STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")
STATE_ALIASES = {
    "report-only": "enabledForReportingButNotEnforced",
    "reportOnly": "enabledForReportingButNotEnforced",
    "on": "enabled",
    "off": "disabled",
}


class MutationError(ValueError):
    """A mutation that cannot be applied (unknown object, wrong kind, bad argument)."""


# --- lookups ---------------------------------------------------------------------------------------


def find(store: Store, object_id: str, set_key: str | None = None) -> tuple[str, JSON]:
    """The object with ``object_id`` and its set key: directory objects first, then every set."""
    if set_key is not None:
        entity_set = store.sets.get(set_key)
        obj = entity_set.get(object_id) if entity_set is not None else None
        if obj is None:
            raise MutationError(f"no object {object_id!r} in {set_key!r}")
        return set_key, obj
    found = store.resolve(object_id)
    if found is not None:
        return found
    for key, entity_set in store.sets.items():
        obj = entity_set.get(object_id)
        if obj is not None:
            return key, obj
    raise MutationError(f"no object {object_id!r}")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _touch(store: Store, key: str, obj: JSON) -> None:
    """Record an upsert of ``obj`` (after changing it in place), as the engine's PATCH does."""
    entity_set = store.sets[key]
    entity_set.put(obj)
    store.changes.record(key, str(obj[entity_set.id_field]))


# --- single mutations ------------------------------------------------------------------------------


def update(store: Store, object_id: str, values: JSON, set_key: str | None = None) -> JSON:
    """Set properties of an object (copies of ``values``), like a PATCH."""
    key, obj = find(store, object_id, set_key)
    for prop, value in values.items():
        if prop in {"id", "@odata.type"}:
            raise MutationError(f"property {prop!r} cannot be changed")
        obj[prop] = copy.deepcopy(value)
    _touch(store, key, obj)
    return obj


def rename(store: Store, object_id: str, display_name: str | None = None, set_key: str | None = None) -> JSON:
    key, obj = find(store, object_id, set_key)
    new_name = display_name or f"{obj.get('displayName') or 'Object'} (renamed)"
    return update(store, object_id, {"displayName": new_name}, key)


def set_ca_state(store: Store, policy_id: str, state: str) -> JSON:
    """Enable, disable or switch a Conditional Access policy to report-only."""
    state = STATE_ALIASES.get(state, state)
    if state not in CA_STATES:
        raise MutationError(f"state must be one of {', '.join(CA_STATES)}")
    return update(store, policy_id, {"state": state, "modifiedDateTime": isotime()}, CA_POLICIES)


def ca_exclusion(store: Store, policy_id: str, principal_id: str, remove: bool = False) -> JSON:
    """Add (or remove) a user or group to a policy's ``conditions.users.excludeUsers``/``excludeGroups``."""
    _, policy = find(store, policy_id, CA_POLICIES)
    kind = store.directory.get(principal_id)
    if kind not in {"users", "groups"} and not remove:
        raise MutationError(f"{principal_id!r} is neither a user nor a group")
    prop = "excludeGroups" if kind == "groups" else "excludeUsers"
    conditions = copy.deepcopy(policy.get("conditions") or {})
    users = conditions.setdefault("users", {})
    current = list(users.get(prop) or [])
    if remove:
        if principal_id not in current:
            other = "excludeUsers" if prop == "excludeGroups" else "excludeGroups"
            if principal_id not in (users.get(other) or []):
                raise MutationError(f"{principal_id!r} is not excluded from {policy_id!r}")
            prop, current = other, list(users.get(other) or [])
        current.remove(principal_id)
    elif principal_id not in current:
        current.append(principal_id)
    users[prop] = current
    return update(store, policy_id, {"conditions": conditions, "modifiedDateTime": isotime()}, CA_POLICIES)


def add_member(store: Store, group_id: str, member_id: str, nav: str = "members") -> bool:
    find(store, group_id, "groups")
    if store.resolve(member_id) is None:
        raise MutationError(f"no directory object {member_id!r}")
    if not store.link(f"groups/{nav}", group_id, member_id):
        return False
    store.changes.record("groups", group_id, link=nav, target=member_id)
    return True


def remove_member(store: Store, group_id: str, member_id: str, nav: str = "members") -> bool:
    find(store, group_id, "groups")
    if not store.unlink(f"groups/{nav}", group_id, member_id):
        return False
    store.changes.record("groups", group_id, link=nav, target=member_id, removed=True)
    return True


def delete(store: Store, object_id: str, permanent: bool = False, set_key: str | None = None) -> str:
    """Delete an object: to the recycle bin for users/groups/apps/SPs/AUs, or for good (``permanent``).

    A permanent delete of an object already in the recycle bin purges it from there.
    """
    if object_id in store.recycle and set_key is None:
        if not permanent:
            raise MutationError(f"{object_id!r} is already deleted")
        item = store.recycle.pop(object_id)
        store.directory.pop(object_id, None)
        store.changes.record(item.set_key, object_id, deleted=True, permanent=True)
        return "purged"
    return delete_many(store, [find(store, object_id, set_key)], permanent)[object_id]


def _drop_incoming(store: Store, ids: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Remove every link pointing at ``ids`` in one pass; (link key, source) pairs per removed id."""
    dropped: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    for key, by_source in store.links.items():
        for source_id, targets in by_source.items():
            hits = ids.intersection(targets)
            if hits:
                targets[:] = [t for t in targets if t not in hits]
                for target in hits:
                    dropped[target].append((key, source_id))
    return dropped


def delete_many(store: Store, objects: list[tuple[str, JSON]], permanent: bool = False) -> dict[str, str]:
    """Delete several (set key, object) at once, scanning the links only once; outcome per id."""
    ids = [str(obj[store.sets[key].id_field]) for key, obj in objects]
    incoming_by_id = _drop_incoming(store, set(ids))
    outcome: dict[str, str] = {}
    for (key, obj), object_id in zip(objects, ids, strict=True):
        if store.sets[key].remove(object_id) is None:
            continue
        soft = key in SOFT_DELETE_SETS
        incoming = incoming_by_id[object_id]
        if soft:
            deleted = {**obj, "deletedDateTime": isotime()}
            store.recycle[object_id] = DeletedItem(
                deleted, key, utcnow(), store.links_of(key, object_id), incoming
            )
        else:
            store.directory.pop(object_id, None)
        for link_key, source in incoming:
            owner, nav = link_key.rsplit("/", 1)
            store.changes.record(owner, source, link=nav, target=object_id, removed=True)
        for link_key, by_source in store.links.items():
            if link_key.startswith(key + "/"):
                by_source.pop(object_id, None)
        store.changes.record(key, object_id, deleted=True, permanent=not soft)
        outcome[object_id] = "deleted" if soft else "purged"
        if soft and permanent:
            store.recycle.pop(object_id)
            store.directory.pop(object_id, None)
            store.changes.record(key, object_id, deleted=True, permanent=True)
            outcome[object_id] = "purged"
    return outcome


def add_password(
    store: Store,
    app_id: str,
    display_name: str | None = None,
    days: int = 180,
    rng: random.Random | None = None,
) -> JSON:
    """A new client secret on an application (``passwordCredentials``); the secret text is never stored."""
    rng = rng or random.Random(f"password:{app_id}:{store.changes.seq}")
    _, app = find(store, app_id, "applications")
    start = utcnow()
    secret = "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~_.") for _ in range(3)
    )
    credential = {
        "customKeyIdentifier": None,
        "displayName": display_name or "Rotated secret",
        "endDateTime": isotime(start + _days(days)),
        "hint": secret,
        "keyId": _uuid(rng),
        "secretText": None,
        "startDateTime": isotime(start),
    }
    credentials = [*copy.deepcopy(app.get("passwordCredentials") or []), credential]
    update(store, app_id, {"passwordCredentials": credentials}, "applications")
    return credential


def _days(days: float) -> timedelta:
    return timedelta(days=days)


def _instance_id(role_definition_id: str, principal_id: str) -> str:
    """Graph's schedule-instance ids: base64url of both GUIDs (little-endian bytes) plus ``-1-e``."""
    raw = uuid.UUID(role_definition_id).bytes_le + uuid.UUID(principal_id).bytes_le
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "-1-e"


def add_pim_eligibility(
    store: Store,
    principal_id: str | None = None,
    role_definition_id: str | None = None,
    days: int = 365,
    rng: random.Random | None = None,
) -> JSON:
    """A new PIM eligibility for a directory role (schedule plus its instance); needs the PIM sets."""
    schedules = store.sets.get(ELIGIBILITY_SCHEDULES)
    if schedules is None:
        raise MutationError("this tenant has no PIM eligibility schedules")
    rng = rng or random.Random(f"pim:{store.changes.seq}")
    if principal_id is None:
        users = store.sets["users"].ids()
        principal_id = users[rng.randrange(len(users))]
    elif store.resolve(principal_id) is None:
        raise MutationError(f"no directory object {principal_id!r}")
    if role_definition_id is None:
        definitions = store.sets.get(ROLE_DEFINITIONS)
        choices = (
            definitions.ids()
            if definitions is not None and len(definitions)
            else sorted({str(s.get("roleDefinitionId")) for s in schedules.after()})
        )
        if not choices:
            raise MutationError("no role definitions to make eligible")
        role_definition_id = choices[rng.randrange(len(choices))]
    now = utcnow()
    schedule_id = _uuid(rng)
    end = isotime(now + _days(days))
    schedule: JSON = {
        "id": schedule_id,
        "principalId": principal_id,
        "roleDefinitionId": role_definition_id,
        "directoryScopeId": "/",
        "appScopeId": None,
        "createdUsing": schedule_id,
        "createdDateTime": isotime(now),
        "modifiedDateTime": None,
        "status": "Provisioned",
        "memberType": "Direct",
        "scheduleInfo": {
            "startDateTime": isotime(now),
            "recurrence": None,
            "expiration": {"type": "afterDateTime", "endDateTime": end, "duration": None},
        },
    }
    store.add(ELIGIBILITY_SCHEDULES, schedule)
    store.changes.record(ELIGIBILITY_SCHEDULES, schedule_id)
    if (
        ELIGIBILITY_REQUESTS in store.sets
    ):  # the adminAssign request that created it (same id, as Graph shows)
        request = {
            "id": schedule_id,
            "status": "Provisioned",
            "createdDateTime": isotime(now),
            "completedDateTime": isotime(now),
            "approvalId": None,
            "customData": None,
            "action": "adminAssign",
            "principalId": principal_id,
            "roleDefinitionId": role_definition_id,
            "directoryScopeId": "/",
            "appScopeId": None,
            "isValidationOnly": False,
            "targetScheduleId": schedule_id,
            "justification": "Eligibility added by an administrator",
            "createdBy": {"application": None, "device": None, "user": None},
            "scheduleInfo": copy.deepcopy(schedule["scheduleInfo"]),
            "ticketInfo": {"ticketNumber": None, "ticketSystem": None},
        }
        store.add(ELIGIBILITY_REQUESTS, request)
        store.changes.record(ELIGIBILITY_REQUESTS, schedule_id)
    if ELIGIBILITY_INSTANCES in store.sets:
        instance = {
            "id": _instance_id(role_definition_id, principal_id),
            "principalId": principal_id,
            "roleDefinitionId": role_definition_id,
            "directoryScopeId": "/",
            "appScopeId": None,
            "startDateTime": isotime(now),
            "endDateTime": end,
            "memberType": "Direct",
            "roleEligibilityScheduleId": schedule_id,
        }
        store.add(ELIGIBILITY_INSTANCES, instance)
        store.changes.record(ELIGIBILITY_INSTANCES, str(instance["id"]))
    return schedule


# --- creations (copies of realistic existing objects) -----------------------------------------------


def _template(store: Store, key: str, rng: random.Random, wanted: Callable[[JSON], bool]) -> JSON:
    """A random existing object to model a new one on, preferring ones that satisfy ``wanted``."""
    entity_set = store.sets.get(key)
    ids = entity_set.ids() if entity_set is not None else []
    if entity_set is None or not ids:
        raise MutationError(f"no object in {key!r} to model a new one on")
    for _ in range(50):
        obj = entity_set.objects[ids[rng.randrange(len(ids))]]
        if wanted(obj):
            return obj
    return entity_set.objects[ids[rng.randrange(len(ids))]]


def create_user(store: Store, rng: random.Random) -> JSON:
    """A new member user, shaped like an existing one (so every property is one Graph has)."""
    user = copy.deepcopy(_template(store, "users", rng, lambda o: o.get("userType") == "Member"))
    given, surname = person(rng)
    local = f"{ascii_nickname(given + surname[:1]).lower()}{rng.randrange(100, 99999)}"
    upn = f"{local}@{store.domain}"
    object_id = _uuid(rng)
    now = isotime()
    user.update(
        {
            "id": object_id,
            "displayName": f"{given} {surname}",
            "givenName": given,
            "surname": surname,
            "userPrincipalName": upn,
            "mail": upn,
            "mailNickname": local,
            "createdDateTime": now,
            "deletedDateTime": None,
            "jobTitle": rng.choice(JOB_TITLES),
            "department": rng.choice(DEPARTMENTS),
        }
    )
    for prop, value in (
        (
            "identities",
            [{"signInType": "userPrincipalName", "issuer": store.domain, "issuerAssignedId": upn}],
        ),
        ("proxyAddresses", [f"SMTP:{upn}"]),
        ("imAddresses", [upn]),
        ("signInSessionsValidFromDateTime", now),
        ("lastPasswordChangeDateTime", now),
    ):
        if prop in user:
            user[prop] = value
    for prop in (
        "onPremisesDistinguishedName",
        "onPremisesDomainName",
        "onPremisesImmutableId",
        "onPremisesLastSyncDateTime",
        "onPremisesSamAccountName",
        "onPremisesSecurityIdentifier",
        "onPremisesSyncEnabled",
        "onPremisesUserPrincipalName",
        "employeeId",
    ):
        if prop in user:
            user[prop] = None
    store.add("users", user, directory_object=True)
    store.changes.record("users", object_id)
    return user


def create_group(store: Store, rng: random.Random, members: list[str]) -> JSON:
    group = copy.deepcopy(
        _template(
            store, "groups", rng, lambda o: not o.get("onPremisesSyncEnabled") and not o.get("membershipRule")
        )
    )
    object_id = _uuid(rng)
    name = (
        f"{rng.choice(DEPARTMENTS)} {rng.choice(['Project', 'Team', 'Working Group', 'Readers'])} "
        f"{rng.randrange(2, 999)}"
    )
    nickname = ascii_nickname(name).lower()[:50] + str(rng.randrange(10, 99))
    now = isotime()
    group.update(
        {
            "id": object_id,
            "displayName": name,
            "mailNickname": nickname,
            "createdDateTime": now,
            "renewedDateTime": now,
            "deletedDateTime": None,
            "description": f"{name} — created by churn",
        }
    )
    if group.get("mail"):
        group["mail"] = f"{nickname}@{store.domain}"
        group["proxyAddresses"] = [f"SMTP:{nickname}@{store.domain}"]
    if "securityIdentifier" in group:
        group["securityIdentifier"] = f"S-1-12-1-{rng.randrange(10**9)}-{rng.randrange(10**9)}"
    store.add("groups", group, directory_object=True)
    store.changes.record("groups", object_id)
    for member in members:
        add_member(store, object_id, member)
    return group


# --- churn ---------------------------------------------------------------------------------------------


def churn(store: Store, percent: float = 5.0, seed: int = 0) -> None:
    """Random realistic changes touching about ``percent``% of users, groups, apps, SPs and CA policies.

    The same store and seed always give the same changes (ids, kinds and values; timestamps are real).
    """
    if not 0 < percent <= 100:
        raise MutationError("percent must be in (0, 100]")
    rng = random.Random(f"churn:{seed}:{percent}")

    def count(key: str) -> int:
        entity_set = store.sets.get(key)
        return math.ceil(len(entity_set) * percent / 100) if entity_set is not None and len(entity_set) else 0

    def targets(key: str) -> list[str]:
        ids = store.sets[key].ids() if key in store.sets else []
        return rng.sample(ids, min(count(key), len(ids)))

    doomed: dict[str, str] = {}  # deleted at the end in one pass over the links

    def alive(key: str, object_id: str) -> bool:
        return key in store.sets and object_id in store.sets[key] and object_id not in doomed

    user_ids = targets("users")
    group_pool = store.sets["groups"].ids() if "groups" in store.sets else []
    for uid in user_ids:
        if not alive("users", uid):
            continue
        roll = rng.random()
        if roll < 0.6:
            user = store.sets["users"].objects[uid]
            prop = rng.choice(["jobTitle", "department", "officeLocation", "mobilePhone", "accountEnabled"])
            if prop == "jobTitle":
                value: Any = rng.choice(JOB_TITLES)
            elif prop == "department":
                value = rng.choice(DEPARTMENTS)
            elif prop == "officeLocation":
                value = f"{rng.randrange(1, 40)}/{rng.randrange(1000, 3000)}"
            elif prop == "mobilePhone":
                value = f"+1 425 555 {rng.randrange(1000, 9999)}"
            else:
                value = not user.get("accountEnabled", True)
            update(store, uid, {prop: value}, "users")
        elif roll < 0.8 and group_pool:
            gid = group_pool[rng.randrange(len(group_pool))]
            if alive("groups", gid) and not add_member(store, gid, uid):
                remove_member(store, gid, uid)
        elif roll < 0.9:
            doomed[uid] = "users"
        else:
            create_user(store, rng)
    users_now = [u for u in store.sets["users"].ids() if u not in doomed] if "users" in store.sets else []
    for gid in targets("groups"):
        if not alive("groups", gid):
            continue
        roll = rng.random()
        members = store.linked("groups/members", gid)
        if roll < 0.35:
            group = store.sets["groups"].objects[gid]
            update(
                store,
                gid,
                {
                    "description": f"{group.get('displayName')} — {rng.choice(['owned by', 'reviewed by'])}"
                    f" {rng.choice(DEPARTMENTS)}"
                },
                "groups",
            )
        elif roll < 0.75:
            for uid in rng.sample(users_now, min(3, len(users_now))):
                add_member(store, gid, uid)
            if members:
                remove_member(store, gid, members[rng.randrange(len(members))])
        elif roll < 0.85:
            doomed[gid] = "groups"
        else:
            create_group(
                store,
                rng,
                rng.sample(users_now, min(5, len(users_now))),
            )
    for app_id in targets("applications"):
        roll = rng.random()
        if roll < 0.5:
            add_password(
                store, app_id, rng.choice(["CI pipeline", "Rotated secret", "Integration key"]), rng=rng
            )
        elif roll < 0.9:
            rename(
                store,
                app_id,
                f"{store.sets['applications'].objects[app_id].get('displayName')} (v2)",
                "applications",
            )
        else:
            doomed[app_id] = "applications"
    for sp_id in targets("servicePrincipals"):
        sp = store.sets["servicePrincipals"].objects.get(sp_id)
        if sp is None:
            continue
        if "accountEnabled" in sp and rng.random() < 0.5:
            update(store, sp_id, {"accountEnabled": not sp.get("accountEnabled", True)}, "servicePrincipals")
        elif isinstance(sp.get("tags"), list):
            update(store, sp_id, {"tags": sorted({*sp["tags"], "HideApp"})}, "servicePrincipals")
        else:
            rename(store, sp_id, None, "servicePrincipals")
    for policy_id in targets(CA_POLICIES):
        policy = store.sets[CA_POLICIES].objects[policy_id]
        if rng.random() < 0.5 or not users_now:
            choices = [s for s in CA_STATES if s != policy.get("state")]
            set_ca_state(store, policy_id, rng.choice(choices))
        else:
            ca_exclusion(store, policy_id, users_now[rng.randrange(len(users_now))])
    delete_many(store, [(key, store.sets[key].objects[i]) for i, key in doomed.items()])


# --- dispatch ------------------------------------------------------------------------------------------


def _arg(payload: JSON, *names: str, required: bool = True) -> Any:
    for name in names:
        if name in payload:
            return payload[name]
    if required:
        raise MutationError(f"missing {names[0]!r}")
    return None


ACTIONS: dict[str, Callable[[Store, JSON], Any]] = {
    "rename": lambda s, p: rename(
        s, _arg(p, "id"), _arg(p, "displayName", "name", required=False), _arg(p, "set", required=False)
    ),
    "update": lambda s, p: update(s, _arg(p, "id"), _arg(p, "values"), _arg(p, "set", required=False)),
    "ca_state": lambda s, p: set_ca_state(s, _arg(p, "id", "policy"), _arg(p, "state")),
    "ca_exclude": lambda s, p: ca_exclusion(
        s, _arg(p, "id", "policy"), _arg(p, "principal", "user", "group")
    ),
    "ca_unexclude": lambda s, p: ca_exclusion(
        s, _arg(p, "id", "policy"), _arg(p, "principal", "user", "group"), remove=True
    ),
    "add_member": lambda s, p: add_member(s, _arg(p, "group"), _arg(p, "member")),
    "remove_member": lambda s, p: remove_member(s, _arg(p, "group"), _arg(p, "member")),
    "delete": lambda s, p: delete(s, _arg(p, "id"), bool(p.get("permanent", False))),
    "hard_delete": lambda s, p: delete(s, _arg(p, "id"), True),
    "add_password": lambda s, p: add_password(
        s, _arg(p, "id", "application"), _arg(p, "displayName", required=False)
    ),
    "add_pim_eligibility": lambda s, p: add_pim_eligibility(
        s, _arg(p, "principal", required=False), _arg(p, "roleDefinitionId", required=False)
    ),
    "churn": lambda s, p: churn(s, float(p.get("percent", 5.0)), int(p.get("seed", 0))),
}


# Other spellings (the CLI's ``entrasnap fakegraph mutate disable-ca``...): name -> (action, fixed arguments).
ALIASES: dict[str, tuple[str, JSON]] = {
    "disable_ca": ("ca_state", {"state": "disabled"}),
    "enable_ca": ("ca_state", {"state": "enabled"}),
    "report_only_ca": ("ca_state", {"state": "enabledForReportingButNotEnforced"}),
    "add_exclusion": ("ca_exclude", {}),
    "remove_exclusion": ("ca_unexclude", {}),
    "add_credential": ("add_password", {}),
    "add_eligibility": ("add_pim_eligibility", {}),
}


def apply(store: Store, payload: JSON) -> JSON:
    """Run one mutation ``{"action": ..., ...}``; returns the action, its result and the changes recorded."""
    if not isinstance(payload, dict) or "action" not in payload:
        raise MutationError("body must be a JSON object with an 'action'")
    name = str(payload["action"]).replace("-", "_")
    if name in ALIASES:
        name, fixed = ALIASES[name]
        payload = {**payload, **fixed}
    action = ACTIONS.get(name)
    if action is None:
        raise MutationError(
            f"unknown action {payload['action']!r}; known: {', '.join(sorted({*ACTIONS, *ALIASES}))}"
        )
    before = store.changes.seq
    try:
        result = action(store, payload)
    except MutationError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # arguments of the wrong kind
        raise MutationError(f"bad arguments for {payload['action']!r}: {exc}") from exc
    return {"action": payload["action"], "result": result, "changes": summary(store, before)}


def summary(store: Store, since: int) -> list[JSON]:
    """The changes recorded after ``since``, as ``{kind, set, id[, link, target]}``."""
    out: list[JSON] = []
    for change in store.changes.since(since):
        entry: JSON = {"set": change.set_key, "id": change.object_id}
        if change.link is not None:
            entry.update(
                kind="unlinked" if change.removed else "linked", link=change.link, target=change.target
            )
        elif change.deleted:
            entry["kind"] = "purged" if change.permanent else "deleted"
        else:
            entry["kind"] = "upserted"
        out.append(entry)
    return out
