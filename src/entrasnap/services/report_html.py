"""The report as one self-contained HTML page: inline CSS, no scripts, fonts or images; all text escaped."""

from __future__ import annotations

from html import escape

from entrasnap.services.report_model import (
    Badge,
    Block,
    Code,
    Document,
    Facts,
    Para,
    Phrase,
    Ref,
    Section,
)

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --zebra:#f5f7fa; --accent:#0b4f8a; --bg:#eef2f6;
  --ok:#1e7b45; --ok-bg:#e3f4ea; --warn:#8a5a00; --warn-bg:#fff3d6; --bad:#a61b1b; --bad-bg:#fde4e4;
  --info:#0b4f8a; --info-bg:#e1edf9; --muted-bg:#eceff3; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); line-height: 1.5; font-size: 15px;
  font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
header.top { background: linear-gradient(120deg, #0b3d6b, #0b4f8a 60%, #136fb8); color: #fff; padding: 28px 32px 22px; }
header.top h1 { margin: 0 0 12px; font-size: 26px; font-weight: 600; overflow-wrap: anywhere; }
header.top dl { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 6px 24px; margin: 0; }
header.top dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; opacity: .75; }
header.top dd { margin: 0; font-size: 14px; overflow-wrap: anywhere; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 48px; }
nav.toc { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 20px; margin-bottom: 24px; }
nav.toc h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 6px; }
nav.toc ol { margin: 0; padding-left: 20px; columns: 2 260px; column-gap: 32px; }
nav.toc li { break-inside: avoid; }
nav.toc ol ol { columns: auto; padding-left: 18px; font-size: 13px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
section.top { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 24px 20px; margin-bottom: 24px; }
h2 { font-size: 21px; margin: 0; }
.heading.level-2 { margin: 16px 0 12px; padding-bottom: 8px; border-bottom: 2px solid var(--line); }
h3 { font-size: 17px; margin: 0 0 8px; }
h4 { font-size: 15px; margin: 0 0 8px; }
h2, h3, h4 { overflow-wrap: anywhere; }
article.item { border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 6px; padding: 14px 16px;
  margin: 14px 0; break-inside: avoid; }
article.item article.item { border-left-color: #7b93ab; }
.heading { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 10px; }
p { margin: 8px 0; overflow-wrap: anywhere; }
p.lead { background: var(--zebra); border-radius: 4px; padding: 8px 12px; }
p.note { color: var(--muted); font-style: italic; }
p.caption { font-weight: 600; font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; margin-top: 14px; }
dl.facts { display: grid; grid-template-columns: minmax(150px, 220px) 1fr; margin: 8px 0; border-top: 1px solid var(--line); }
dl.facts dt, dl.facts dd { padding: 5px 8px; border-bottom: 1px solid var(--line); margin: 0; overflow-wrap: anywhere; }
dl.facts dt { font-weight: 600; color: var(--muted); font-size: 13px; }
dl.facts dt:nth-of-type(even), dl.facts dd:nth-of-type(even) { background: var(--zebra); }
.table-wrap { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
table.narrow { width: auto; min-width: min(420px, 100%); }
th { text-align: left; background: #e4ebf2; color: #243b53; font-weight: 600; padding: 7px 10px; border-bottom: 2px solid var(--line); }
td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
tbody tr:nth-child(even) td { background: var(--zebra); }
td.empty { color: var(--muted); font-style: italic; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; background: var(--muted-bg);
  padding: 1px 5px; border-radius: 3px; overflow-wrap: anywhere; }
.ref { border-bottom: 1px dotted #9fb3c8; }
.ref.unknown { color: var(--bad); }
.badge { display: inline-block; font-size: 11.5px; font-weight: 600; line-height: 1.6; padding: 0 8px; border-radius: 999px;
  white-space: nowrap; vertical-align: baseline; }
.badge-ok { color: var(--ok); background: var(--ok-bg); }
.badge-warn { color: var(--warn); background: var(--warn-bg); }
.badge-bad { color: var(--bad); background: var(--bad-bg); }
.badge-info { color: var(--info); background: var(--info-bg); }
.badge-muted { color: var(--muted); background: var(--muted-bg); }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 20px 32px; }
@media (max-width: 700px) {
  header.top { padding: 20px 16px; }
  main { padding: 16px 10px 32px; }
  section.top { padding: 4px 12px 14px; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { border-bottom: none; padding-bottom: 0; }
  article.item { padding: 10px; border-left-width: 3px; }
  article.item article.item { padding: 8px; }
  table:not(.narrow) { min-width: 540px; }
}
@media print {
  body { background: #fff; font-size: 11pt; }
  header.top { background: #fff; color: var(--ink); border-bottom: 2px solid var(--ink); padding: 0 0 12px; }
  main { max-width: none; padding: 12px 0; }
  nav.toc, section.top, article.item { border: none; padding-left: 0; padding-right: 0; }
  section.top { break-before: page; }
  section.top:first-of-type { break-before: auto; }
  .table-wrap { overflow: visible; }
  tr, dl.facts dt, dl.facts dd { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; }
}
"""


def _inline(parts: Phrase) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(escape(part))
        elif isinstance(part, Ref):
            hint = f"{part.kind} {part.id}".strip()
            if part.name is None:
                out.append(
                    f'<span class="ref unknown" title="{escape(hint)}">unknown object <code>{escape(part.id)}</code></span>'
                )
            else:
                out.append(f'<span class="ref" title="{escape(hint)}">{escape(part.name)}</span>')
        elif isinstance(part, Badge):
            out.append(f'<span class="badge badge-{escape(part.tone)}">{escape(part.text)}</span>')
        elif isinstance(part, Code):
            out.append(f"<code>{escape(part.text)}</code>")
    return "".join(out)


def _block(block: Block) -> str:
    if isinstance(block, Para):
        css = f' class="{escape(block.style)}"' if block.style else ""
        return f"<p{css}>{_inline(block.parts)}</p>"
    if isinstance(block, Facts):
        rows = "".join(f"<dt>{escape(label)}</dt><dd>{_inline(value)}</dd>" for label, value in block.rows)
        return f'<dl class="facts">{rows}</dl>'
    head = "".join(f"<th>{escape(h)}</th>" for h in block.headers)
    if block.rows:
        body = "".join(
            "<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>" for row in block.rows
        )
    else:
        body = f'<tr><td class="empty" colspan="{len(block.headers)}">{escape(block.empty)}</td></tr>'
    css = ' class="narrow"' if block.narrow else ""
    return f'<div class="table-wrap"><table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _anchor(section: Section) -> str:
    return escape(section.id, quote=True)


def _heading(section: Section, level: int) -> str:
    badge = _inline([section.badge]) if section.badge else ""
    return f'<div class="heading level-{level}"><h{level} id="{_anchor(section)}">{escape(section.title)}</h{level}>{badge}</div>'


def _section(section: Section, level: int) -> str:
    inner = "".join(_block(b) for b in section.blocks) + "".join(
        _section(s, level + 1) for s in section.subsections
    )
    if level == 2:
        return f'<section class="top">{_heading(section, 2)}{inner}</section>'
    return f'<article class="item">{_heading(section, min(level, 6))}{inner}</article>'


def _toc(document: Document) -> str:
    items = []
    for section in document.sections:
        nested = [s for s in section.subsections if s.subsections]
        sub = "".join(f'<li><a href="#{_anchor(s)}">{escape(s.title)}</a></li>' for s in nested)
        sub_list = f"<ol>{sub}</ol>" if sub else ""
        count = f" ({len(section.subsections)})" if section.subsections and not nested else ""
        items.append(
            f'<li><a href="#{_anchor(section)}">{escape(section.title)}</a>{escape(count)}{sub_list}</li>'
        )
    return f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def render_html(document: Document) -> str:
    """One self-contained UTF-8 HTML page."""
    meta = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in document.meta)
    body = "".join(_section(s, 2) for s in document.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.title)}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><h1>{escape(document.title)}</h1><dl>{meta}</dl></header>'
        f"<main>{_toc(document)}{body}</main>"
        "<footer>Generated by entrasnap from one snapshot; names are resolved from the same snapshot.</footer>"
        "</body></html>\n"
    )
