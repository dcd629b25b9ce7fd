"""``entrasnap show`` (an object as it was) and ``entrasnap history`` (its versions over time)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from entrasnap.cli.errors import handle_errors
from entrasnap.cli.key_option import KEY_OPTION
from entrasnap.cli.snapshot_cmd import STORE_HELP, open_repository
from entrasnap.services.changes import Change
from entrasnap.services.history import EntryFinder, History, find_in, names_for, object_history
from entrasnap.services.timeline import (
    CachedRepository,
    Found,
    SnapshotView,
    pick,
    resource_type,
    tenant_records,
    without_gc,
)

if TYPE_CHECKING:
    from rich.console import Console

TENANT_HELP = "Tenant id or domain, when the repository holds several tenants."
VALUE_WIDTH = 100


def show(
    type_key: str = typer.Argument(..., metavar="TYPE", help="Catalog key, e.g. users, groups."),
    ref: str = typer.Argument(..., metavar="NAME|ID", help="Display name or object id."),
    at: str | None = typer.Option(None, "--at", help="A date/time, snapshot id, 'latest' or 'previous'."),
    store: str = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    encryption_key: str | None = KEY_OPTION,
    tenant: str | None = typer.Option(None, "--tenant", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the default when not on a terminal)."),
    children: bool = typer.Option(True, "--children/--no-children", help="Include members, owners..."),
) -> None:
    """Show one object as it was in a snapshot (default: the latest).

    JSON (with --json or on a pipe): {"type", "id", "name", "snapshot": {"id", "started"},
    "object": <Graph JSON>, "children": {"members": [ids], ...}, "childNames": {id: name}}.
    """
    with handle_errors(), without_gc():
        rtype = resource_type(type_key)
        cache = CachedRepository(open_repository(store, create=False, encryption_key=encryption_key))
        record = pick(tenant_records(cache.repository, tenant), at)
        view = SnapshotView(cache, record)
        finder = EntryFinder(cache)
        found = find_in(finder, view, rtype, ref)
        kids: dict[str, Any] = (found.record.get("children") or {}) if children else {}
        ref_ids = [i for values in kids.values() for i in values if isinstance(i, str)]
        names = names_for(finder, view, ref_ids) if ref_ids else {}
        if as_json or not sys.stdout.isatty():
            typer.echo(json.dumps(show_json(found, view, kids, names), indent=2, ensure_ascii=False))
        else:
            from rich.console import Console  # rich only on a terminal: JSON on a pipe starts without it

            render_show(Console(), found, view, kids, names)


def show_json(
    found: Found, view: SnapshotView, kids: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": found.rtype.key,
        "id": found.id,
        "name": display_name(found),
        "snapshot": {"id": view.record.id, "started": view.record.data["started"]},
        "object": found.record.get("object"),
        "children": kids,
    }
    if names:
        out["childNames"] = names
    return out


def display_name(found: Found) -> str | None:
    if found.name:
        return found.name
    value = (found.record.get("object") or {}).get(found.rtype.name_field)
    return None if value is None else str(value)


def render_show(
    console: Console, found: Found, view: SnapshotView, kids: dict[str, Any], names: dict[str, str]
) -> None:
    """A header line, the object as highlighted JSON, then its children with names."""
    from rich.markup import escape
    from rich.syntax import Syntax  # pygments: imported only when a terminal shows highlighting

    started = view.record.data["started"][:19].replace("T", " ")
    console.print(
        f"[bold]{found.rtype.key}[/bold] [cyan]{escape(display_name(found) or '-')}[/cyan] {found.id}"
        f"  — snapshot {view.record.id[:12]} at {started} UTC"
    )
    console.print(
        Syntax(
            json.dumps(found.record.get("object"), indent=2, ensure_ascii=False),
            "json",
            background_color="default",
        )
    )
    for child, values in kids.items():
        console.print(f"[bold]{escape(child)}[/bold] ({len(values)})")
        for value in values:
            if isinstance(value, str):
                console.print(f"  {escape(names.get(value, '?'))}  [dim]{value}[/dim]")
            else:
                console.print(
                    Syntax(
                        json.dumps(value, indent=2, ensure_ascii=False), "json", background_color="default"
                    )
                )


def history(
    type_key: str = typer.Argument(..., metavar="TYPE", help="Catalog key, e.g. users, groups."),
    ref: str = typer.Argument(..., metavar="NAME|ID", help="Display name (as last seen) or object id."),
    store: str = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    encryption_key: str | None = KEY_OPTION,
    tenant: str | None = typer.Option(None, "--tenant", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (the default when not on a terminal)."),
    all_properties: bool = typer.Option(False, "--all", help="Include noise (e.g. sync timestamps)."),
) -> None:
    """Every version of one object across the tenant's snapshots.

    JSON (with --json or on a pipe): {"type", "id", "name", "versions": [{"snapshot", "started",
    "event": "appeared"|"changed"|"disappeared"|"reappeared"|"notCaptured", "changes": [{"path",
    "kind": "added"|"removed"|"changed"|"members", "before", "after", "added", "removed"}], "status"
    (the type's status when notCaptured, else null), "last", "lastStarted", "snapshots" (the version
    held from snapshot to last, over that many snapshots), "names": {id: display name}}]}.
    """
    with handle_errors(), without_gc():
        rtype = resource_type(type_key)
        cache = CachedRepository(open_repository(store, create=False, encryption_key=encryption_key))
        records = tenant_records(cache.repository, tenant)
        result = object_history(cache, records, rtype, ref, all_properties=all_properties)
        if as_json or not sys.stdout.isatty():
            typer.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        else:
            from rich.console import Console

            render_history(Console(), result)


def render_history(console: Console, result: History) -> None:
    """A timeline: one entry per snapshot where something happened, with its changes."""
    from rich.markup import escape

    console.print(f"[bold]{result.rtype.key}[/bold] [cyan]{escape(result.name or '-')}[/cyan] {result.id}")
    styles = {
        "appeared": "green",
        "changed": "yellow",
        "disappeared": "red",
        "reappeared": "green",
        "notCaptured": "magenta",
    }
    for version in result.versions:
        when = version.snapshot.data["started"][:19].replace("T", " ")
        label = f"not captured ({version.status})" if version.event == "notCaptured" else version.event
        span = ""
        if version.count > 1:
            span = f"  [dim](through {version.last.data['started'][:10]}, {version.count} snapshots)[/dim]"
        console.print(
            f"{when}  [dim]{version.snapshot.id[:12]}[/dim]  [{styles[version.event]}]{label}[/]{span}"
        )
        for change in version.changes:
            console.print("    " + escape(describe(change, version.names)))


def describe(change: Change, names: dict[str, str]) -> str:
    """One change in words: ``path: before → after``, ``path: + added − removed``."""
    if change.kind == "members":
        parts = [f"+ {named(v, names)}" for v in change.added]
        parts += [f"- {named(v, names)}" for v in change.removed]
        return f"{change.path}: " + ", ".join(parts)
    if change.kind == "added":
        return f"{change.path}: added {short(change.after, names)}"
    if change.kind == "removed":
        return f"{change.path}: removed (was {short(change.before, names)})"
    return f"{change.path}: {short(change.before, names)} → {short(change.after, names)}"


def named(value: Any, names: dict[str, str]) -> str:
    if isinstance(value, str) and value in names:
        return f"{names[value]} ({value})"
    return short(value, names)


def short(value: Any, names: dict[str, str]) -> str:
    if isinstance(value, str) and value in names:
        return named(value, names)
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
