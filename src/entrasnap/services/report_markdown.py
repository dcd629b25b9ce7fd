"""The report as GitHub-flavoured Markdown: the same content as the HTML page, with text escaped."""

from __future__ import annotations

import re
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
    Table,
)

_SPECIAL = re.compile(r"([\\`*_\[\]{}|#~!])")
BADGE_MARK = {"ok": "✅", "warn": "⚠️", "bad": "⛔", "info": "", "muted": ""}


def text(value: str) -> str:
    """Plain text safe in Markdown and table cells: HTML escaped, Markdown syntax and newlines neutralised."""
    return _SPECIAL.sub(r"\\\1", escape(value, quote=False)).replace("\r", " ").replace("\n", " ")


def code(value: str) -> str:
    """Inline code that holds any text (backticks, pipes, HTML)."""
    clean = value.replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", clean)), default=0) + 1)
    pad = " " if clean.startswith("`") or clean.endswith("`") else ""
    return f"{fence}{pad}{clean}{pad}{fence}"


def _inline(parts: Phrase) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(text(part))
        elif isinstance(part, Ref):
            out.append(text(part.name) if part.name is not None else f"unknown object {code(part.id)}")
        elif isinstance(part, Badge):
            mark = BADGE_MARK.get(part.tone, "")
            out.append(f"**{(mark + ' ') if mark else ''}{text(part.text)}**")
        elif isinstance(part, Code):
            out.append(code(part.text))
    return "".join(out)


def _block(block: Block) -> str:
    if isinstance(block, Para):
        if block.style == "lead":
            return f"> {_inline(block.parts)}\n"
        if block.style in ("note", "caption"):
            return f"*{_inline(block.parts)}*\n" if block.style == "note" else f"**{_inline(block.parts)}**\n"
        return f"{_inline(block.parts)}\n"
    if isinstance(block, Facts):
        return "".join(f"- **{text(label)}:** {_inline(value)}\n" for label, value in block.rows)
    assert isinstance(block, Table)
    if not block.rows:
        return f"*{text(block.empty)}*\n"
    lines = ["| " + " | ".join(text(h) for h in block.headers) + " |"]
    lines.append("|" + "|".join("---" for _ in block.headers) + "|")
    lines += ["| " + " | ".join(_inline(cell) or " " for cell in row) + " |" for row in block.rows]
    return "\n".join(lines) + "\n"


def _section(section: Section, level: int) -> str:
    badge = f" {_inline([section.badge])}" if section.badge else ""
    parts = [f"{'#' * min(level, 6)} {text(section.title)}{badge}\n"]
    parts += [_block(b) for b in section.blocks]
    parts += [_section(s, level + 1) for s in section.subsections]
    return "\n".join(parts)


def render_markdown(document: Document) -> str:
    lines = [f"# {text(document.title)}\n"]
    lines += [f"- **{text(k)}:** {text(v)}" for k, v in document.meta]
    lines.append("\n## Contents\n")
    lines += [f"{i}. {text(s.title)}" for i, s in enumerate(document.sections, 1)]
    out = "\n".join(lines) + "\n\n" + "\n".join(_section(s, 2) for s in document.sections)
    return out.rstrip("\n") + "\n"
