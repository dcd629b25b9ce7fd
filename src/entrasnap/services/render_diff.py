"""A snapshot diff as text (rich), Markdown, one self-contained HTML page, or JSON.

Every rendering shows the same things in the same order: the two snapshots, a summary, the risk
flags first, then per type the objects added, removed and modified (property by property, GUIDs as
names), then the types that were not captured.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import orjson

from entrasnap.services.diff import ObjectChange, PropertyChange, SnapshotDiff, TypeDiff
from entrasnap.services.ids import GUID, is_guid
from entrasnap.services.risk import Flag

if TYPE_CHECKING:
    from rich.console import Console

SIGNS = {"added": "+", "removed": "-", "modified": "~"}
SEVERITY_STYLE = {"high": "bold white on red", "medium": "bold black on yellow", "low": "bold black on cyan"}


# --- shared wording --------------------------------------------------------------------------------


def show_value(value: Any, names: dict[str, str]) -> str:
    """A value for people: GUIDs as the names they had, objects as compact JSON."""
    if isinstance(value, str):
        return names.get(value.lower(), value) if is_guid(value) else value
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "[" + ", ".join(show_value(v, names) for v in value) + "]"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return json.dumps(value)


def show_path(path: str, names: dict[str, str]) -> str:
    return GUID.sub(lambda m: names.get(m.group(0).lower(), m.group(0)), path)


def change_parts(pc: PropertyChange) -> tuple[str, list[tuple[str, str]]]:
    """(path as shown, [(sign, text)]) where sign is "+", "-" or "→" (a before → after pair as "a → b")."""
    c, names = pc.change, pc.names
    path = show_path(c.path, names)
    if c.kind == "members":
        return path, [("+", show_value(v, names)) for v in c.added] + [
            ("-", show_value(v, names)) for v in c.removed
        ]
    if c.kind == "added":
        return path, [("+", show_value(c.after, names))]
    if c.kind == "removed":
        return path, [("-", show_value(c.before, names))]
    return path, [("→", f"{show_value(c.before, names)} → {show_value(c.after, names)}")]


def change_line(pc: PropertyChange) -> str:
    """``conditions.users.excludeGroups: + Finance Admins``."""
    path, parts = change_parts(pc)
    return f"{path}: " + ", ".join(text if sign == "→" else f"{sign} {text}" for sign, text in parts)


def object_title(obj: ObjectChange) -> str:
    return obj.name if obj.name and obj.name != obj.id else obj.id


def snapshot_line(diff: SnapshotDiff, side: str) -> str:
    record = diff.before if side == "from" else diff.after
    tenant = record.tenant.get("domain") or record.tenant.get("id") or "?"
    return f"{record.id[:12]} ({str(record.data.get('started', ''))[:19].replace('T', ' ')} UTC, {tenant})"


def summary_line(diff: SnapshotDiff) -> str:
    s = diff.summary()
    flags = ", ".join(f"{n} {sev}" for sev, n in s["bySeverity"].items() if n)
    text = (
        f"{s['added']} added, {s['removed']} removed, {s['modified']} modified in {s['types']} types; "
        f"{s['risks']} risk flags" + (f" ({flags})" if flags else "")
    )
    if s["notCaptured"]:
        text += f"; {s['notCaptured']} types not captured"
    if s["noiseHidden"]:
        text += f"; {s['noiseHidden']} objects with only noise changes hidden (--all shows them)"
    return text


def flag_rows(diff: SnapshotDiff) -> list[tuple[Flag, str, str, str]]:
    """(flag, type title, sign, object title) for every flag, most severe first."""
    order = {"high": 0, "medium": 1, "low": 2}
    rows = [(flag, t.rtype.title, SIGNS[event], object_title(obj)) for t, event, obj, flag in diff.flags()]
    return sorted(rows, key=lambda r: order[r[0].severity])


def sections(t: TypeDiff) -> list[tuple[str, str, list[ObjectChange]]]:
    return [
        (title, sign, objects)
        for title, sign, objects in (
            ("Added", "+", t.added),
            ("Removed", "-", t.removed),
            ("Modified", "~", t.modified),
        )
        if objects
    ]


# --- text ------------------------------------------------------------------------------------------


def _badge(flag: Flag) -> str:
    return f"[{SEVERITY_STYLE[flag.severity]}] {flag.severity.upper()} [/]"


def render_text(diff: SnapshotDiff, console: Console) -> None:
    """The diff for a terminal (colours) or a plain file (a Console without a terminal)."""
    from rich.markup import escape  # rich only for text: JSON on a pipe starts without it

    out = console.print
    out(f"[bold]Changes[/] from {escape(snapshot_line(diff, 'from'))}")
    out(f"          to {escape(snapshot_line(diff, 'to'))}")
    out(escape(summary_line(diff)))
    rows = flag_rows(diff)
    if rows:
        out("\n[bold red]Risk flags[/]")
        for flag, title, sign, name in rows:
            out(
                f"  {_badge(flag)} {escape(title)}: {sign} [bold]{escape(name)}[/] — {escape(flag.reason)} ({flag.id})"
            )
    colours = {"+": "green", "-": "red", "~": "yellow"}
    for t in diff.types:
        if t.empty:
            continue
        out(f"\n[bold underline]{escape(t.rtype.title)}[/] ({t.rtype.key})")
        for _, sign, objects in sections(t):
            for obj in objects:
                badges = " ".join(_badge(f) for f in obj.flags)
                out(
                    f"  [{colours[sign]}]{sign}[/] [bold]{escape(object_title(obj))}[/] [dim]{obj.id}[/]"
                    + (f" {badges}" if badges else "")
                )
                for pc in obj.changes:
                    style = "dim" if pc.noise else ("bold red" if pc.flags else "")
                    line = escape(change_line(pc)) + (" [dim](noise)[/]" if pc.noise else "")
                    out(f"      [{style}]{line}[/]" if style else f"      {line}")
    if diff.not_captured:
        out("\n[bold]Not captured[/] (not compared; never reported as deletions)")
        for n in diff.not_captured:
            out(f"  {escape(n.rtype.title)} ({n.rtype.key}): {n.status_from} → {n.status_to}")
    if not diff.has_changes:
        out("\nNo changes" + (" flagged as risky." if diff.risky_only else "."))


# --- markdown --------------------------------------------------------------------------------------


def _md(text: str) -> str:
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _md_code(text: str) -> str:
    return "`` " + text + " ``" if "`" in text else f"`{text}`"


def render_markdown(diff: SnapshotDiff) -> str:
    lines = [
        "# Changes between snapshots",
        "",
        f"- From: {_md(snapshot_line(diff, 'from'))}",
        f"- To: {_md(snapshot_line(diff, 'to'))}",
        f"- Summary: {_md(summary_line(diff))}",
        "",
        "## Risk flags",
        "",
    ]
    rows = flag_rows(diff)
    if rows:
        lines += ["| Severity | Type | Object | Reason | Rule |", "|---|---|---|---|---|"]
        lines += [
            f"| **{f.severity.upper()}** | {_md(title)} | {sign} {_md(name)} | {_md(f.reason)} | `{f.id}` |"
            for f, title, sign, name in rows
        ]
    else:
        lines.append("None.")
    for t in diff.types:
        if t.empty:
            continue
        lines += ["", f"## {_md(t.rtype.title)} (`{t.rtype.key}`)"]
        for title, _, objects in sections(t):
            lines += ["", f"### {title}", ""]
            for obj in objects:
                flags = "".join(f" **[{f.severity.upper()}: {_md(f.reason)}]**" for f in obj.flags)
                lines.append(f"- **{_md(object_title(obj))}** ({_md_code(obj.id)}){flags}")
                for pc in obj.changes:
                    marks = " **⚠**" if pc.flags else ""
                    noise = " _(noise)_" if pc.noise else ""
                    lines.append(f"  - {_md_code(change_line(pc))}{marks}{noise}")
    lines += ["", "## Not captured", ""]
    if diff.not_captured:
        lines += ["| Type | From | To |", "|---|---|---|"]
        lines += [
            f"| {_md(n.rtype.title)} (`{n.rtype.key}`) | {n.status_from} | {n.status_to} |"
            for n in diff.not_captured
        ]
    else:
        lines.append("Every compared type was captured in both snapshots.")
    return "\n".join(lines) + "\n"


# --- html ------------------------------------------------------------------------------------------

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #dde1e7;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px;color:#4a5263}
.meta{color:#4a5263}.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 16px;margin:10px 0}
.risks{border-left:6px solid #c62828}.none{color:#4a5263}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}
th{background:#f0f2f5;font-weight:600}
.sev{display:inline-block;border-radius:4px;padding:1px 7px;font-size:12px;font-weight:700;letter-spacing:.03em}
.sev-high{background:#c62828;color:#fff}.sev-medium{background:#f9a825;color:#000}.sev-low{background:#4fc3f7;color:#000}
ul.objects{list-style:none;padding:0;margin:0}ul.objects>li{padding:6px 0;border-bottom:1px solid #eef0f3}
.sign{display:inline-block;width:1.4em;font-weight:700}.added .sign{color:#2e7d32}.removed .sign{color:#c62828}
.modified .sign{color:#ef6c00}.id{color:#8a93a3;font-size:12px;font-family:ui-monospace,monospace}
ul.changes{margin:4px 0 0 1.6em;padding:0}ul.changes li{font-family:ui-monospace,Consolas,monospace;font-size:13px;
overflow-wrap:anywhere;list-style:none}
.flagged{background:#fdecea;border-radius:3px}.noise{color:#8a93a3}.plus{color:#2e7d32}.minus{color:#c62828}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _sev(flag: Flag) -> str:
    return f'<span class="sev sev-{flag.severity}">{flag.severity.upper()}</span>'


def _html_change(pc: PropertyChange) -> str:
    path, parts = change_parts(pc)
    shown = []
    for sign, text in parts:
        if sign == "→":
            shown.append(_e(text))
        else:
            shown.append(f'<span class="{"plus" if sign == "+" else "minus"}">{sign} {_e(text)}</span>')
    classes = " ".join(c for c in ("flagged" if pc.flags else "", "noise" if pc.noise else "") if c)
    flags = " ".join(_sev(f) for f in pc.flags)
    attribute = f' class="{classes}"' if classes else ""
    return (
        f"<li{attribute}><b>{_e(path)}</b>: "
        + ", ".join(shown)
        + (f" {flags}" if flags else "")
        + (" (noise)" if pc.noise else "")
        + "</li>"
    )


def render_html(diff: SnapshotDiff) -> str:
    """One self-contained page: inline CSS, no scripts, no external assets."""
    body = [
        "<h1>Changes between snapshots</h1>",
        f'<p class="meta">From <b>{_e(snapshot_line(diff, "from"))}</b><br>to <b>{_e(snapshot_line(diff, "to"))}</b></p>',
        f'<p class="meta">{_e(summary_line(diff))}</p>',
        '<section class="card risks" id="risks"><h2>Risk flags</h2>',
    ]
    rows = flag_rows(diff)
    if rows:
        body.append(
            "<table><tr><th>Severity</th><th>Type</th><th>Object</th><th>Reason</th><th>Rule</th></tr>"
        )
        body += [
            f"<tr><td>{_sev(f)}</td><td>{_e(title)}</td><td>{sign} {_e(name)}</td><td>{_e(f.reason)}</td>"
            f"<td><code>{_e(f.id)}</code></td></tr>"
            for f, title, sign, name in rows
        ]
        body.append("</table>")
    else:
        body.append('<p class="none">No risky changes.</p>')
    body.append("</section>")
    for t in diff.types:
        if t.empty:
            continue
        body.append(
            f'<section class="card"><h2>{_e(t.rtype.title)} <span class="id">{_e(t.rtype.key)}</span></h2>'
        )
        for title, _, objects in sections(t):
            kind = title.lower()
            body.append(f'<h3>{title} ({len(objects)})</h3><ul class="objects">')
            for obj in objects:
                flags = " ".join(_sev(f) + " " + _e(f.reason) for f in obj.flags)
                body.append(
                    f'<li class="{kind}"><span class="sign">{SIGNS[kind]}</span><b>{_e(object_title(obj))}</b> '
                    f'<span class="id">{_e(obj.id)}</span>' + (f" {flags}" if flags else "")
                )
                if obj.changes:
                    body.append(
                        '<ul class="changes">' + "".join(_html_change(pc) for pc in obj.changes) + "</ul>"
                    )
                body.append("</li>")
            body.append("</ul>")
        body.append("</section>")
    body.append('<section class="card"><h2>Not captured</h2>')
    if diff.not_captured:
        body.append("<table><tr><th>Type</th><th>From</th><th>To</th></tr>")
        body += [
            f'<tr><td>{_e(n.rtype.title)} <span class="id">{_e(n.rtype.key)}</span></td>'
            f"<td>{_e(n.status_from)}</td><td>{_e(n.status_to)}</td></tr>"
            for n in diff.not_captured
        ]
        body.append("</table>")
    else:
        body.append('<p class="none">Every compared type was captured in both snapshots.</p>')
    body.append("</section>")
    if not diff.has_changes:
        body.append('<p class="none">No changes.</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>entrasnap diff {_e(diff.before.id[:12])} → {_e(diff.after.id[:12])}</title>"
        f"<style>{CSS}</style></head><body><main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )


def render_json(diff: SnapshotDiff) -> str:
    return render_json_bytes(diff).decode()


def render_json_bytes(diff: SnapshotDiff) -> bytes:
    """``render_json`` as UTF-8, for writing without decoding and encoding again (a year-apart diff of
    a large tenant is tens of MB)."""
    # orjson: the same JSON as json.dumps(indent=2, ensure_ascii=False), an order of magnitude faster.
    return orjson.dumps(diff.as_json(), option=orjson.OPT_INDENT_2) + b"\n"


FORMATS = ("text", "json", "markdown", "html")
