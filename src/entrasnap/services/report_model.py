"""The report as a small document: sections of paragraphs, facts and tables made of inline parts.

Builders produce this model; renderers (HTML, Markdown) turn it into text and own all escaping, so
no builder ever formats markup itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ref:
    """A directory object named from the snapshot; ``name`` None: unknown in this snapshot."""

    id: str
    name: str | None
    kind: str = ""  # "user", "group", "role"... shown as a hint


@dataclass(frozen=True)
class Badge:
    """A short status label; tone is one of ok, warn, bad, info, muted."""

    text: str
    tone: str = "info"


@dataclass(frozen=True)
class Code:
    """Literal text shown verbatim (rules, filters, durations as written)."""

    text: str


Inline = str | Ref | Badge | Code
Phrase = list[Inline]


@dataclass
class Para:
    parts: Phrase
    style: str = ""  # "lead" for a policy's summary sentence, "note" for muted remarks


@dataclass
class Facts:
    """Label → value lines (a definition list)."""

    rows: list[tuple[str, Phrase]]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Phrase]]
    empty: str = "None."
    narrow: bool = False  # a small table (counts) that need not span the page


Block = Para | Facts | Table


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    badge: Badge | None = None


@dataclass
class Document:
    title: str
    meta: list[tuple[str, str]]  # label, value shown under the title
    sections: list[Section]


def join(items: Sequence[Phrase], sep: str = ", ", last: str = " and ") -> Phrase:
    """Phrases joined as prose: ``a, b and c``."""
    out: Phrase = []
    for index, item in enumerate(items):
        if index:
            out.append(last if index == len(items) - 1 else sep)
        out.extend(item)
    return out


def text_of(parts: Phrase) -> str:
    """Plain text of a phrase (unknown references spelled out)."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Ref):
            out.append(part.name if part.name is not None else f"unknown object {part.id}")
        else:
            out.append(part.text)
    return "".join(out)
