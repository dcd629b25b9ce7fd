"""OData query options as Graph applies them: $select, $top, $filter, $expand, $count, skip tokens.

Also Graph's error bodies. The $filter grammar covers what Graph's directory endpoints accept and
what clients use: ``eq``/``ne``/``gt``/``ge``/``lt``/``le``, ``in``, ``startswith``, ``endswith``,
``and``/``or``/``not``, parentheses, and ``any``/``all`` lambdas over collections.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from entrasnap.fakegraph.state import JSON


class GraphError(Exception):
    """An error that Graph answers with its standard error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, request_id: str, client_request_id: str | None = None) -> JSON:
        return error_body(self.code, self.message, request_id, client_request_id)


def error_body(code: str, message: str, request_id: str, client_request_id: str | None = None) -> JSON:
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id or request_id,
    }
    return {"error": {"code": code, "message": message, "innerError": inner}}


def new_request_id() -> str:
    return str(uuid.uuid4())


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unsupported_query(message: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def not_found(object_id: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{object_id}' does not exist or one of its queried reference-property objects are "
        "not present.",
    )


# --- $select / $expand ------------------------------------------------------------------------------


def split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses or quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


@dataclass(frozen=True)
class ExpandItem:
    name: str
    select: list[str] | None = None
    expand: list[ExpandItem] = field(default_factory=list)


def parse_expand(text: str) -> list[ExpandItem]:
    """The items of an ``$expand`` (parsed once per distinct text: clients repeat the same few)."""
    return list(_parse_expand(text))


@functools.lru_cache(maxsize=256)
def _parse_expand(text: str) -> tuple[ExpandItem, ...]:
    items: list[ExpandItem] = []
    for part in split_top_level(text):
        match = re.fullmatch(r"([\w.@]+)(?:\((.*)\))?", part, re.S)
        if not match:
            raise bad_request(f"Parsing OData Select and Expand failed: syntax error at '{part}'.")
        select: list[str] | None = None
        expand: list[ExpandItem] = []
        for raw_option in (match.group(2) or "").split(";"):
            option = raw_option.strip()
            if not option:
                continue
            key, _, value = option.partition("=")
            if key == "$select":
                select = [s.strip() for s in value.split(",") if s.strip()]
            elif key == "$expand":
                expand = parse_expand(value)
            else:
                raise bad_request(f"Query option '{key}' is not allowed inside $expand.")
        items.append(ExpandItem(match.group(1), select, expand))
    return tuple(items)


def select_properties(
    obj: JSON,
    select: list[str] | tuple[str, ...] | None,
    sparse: bool = False,
    defaults: Mapping[str, Any] | None = None,
) -> JSON:
    """Keep only the selected properties (plus ``@odata.type``).

    ``sparse`` objects are stored without their null or default-valued properties (users, groups and
    devices, to keep large tenants small): selected properties they lack come back from ``defaults``
    (empty lists and the like) or as null, as Graph returns them.
    """
    if select is None:
        return obj
    if sparse:
        out = {"@odata.type": obj["@odata.type"]} if "@odata.type" in obj else {}
        fallback = defaults or {}
        out.update({key: obj[key] if key in obj else fallback.get(key) for key in select})
        for key, value in fallback.items():  # each answer gets its own copy of a list or object default
            if isinstance(value, (dict, list)) and key in out and key not in obj:
                out[key] = copy_json(value)
        return out
    wanted = set(select)
    return {k: v for k, v in obj.items() if k in wanted or k == "@odata.type"}


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and scalars), much cheaper than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: copy_json(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


# --- skip tokens ----------------------------------------------------------------------------------

_TOKEN_KEY = b"fakegraph-skiptoken"


def encode_token(payload: str) -> str:
    """An opaque, tamper-evident token carrying ``payload``."""
    mac = hmac.new(_TOKEN_KEY, payload.encode(), hashlib.sha256).digest()[:8]
    raw = b"RFNwdA" + mac + payload.encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise bad_request("Invalid skip token.", "Request_BadRequest") from exc
    payload = raw[14:]
    expected = hmac.new(_TOKEN_KEY, payload, hashlib.sha256).digest()[:8]
    if not raw.startswith(b"RFNwdA") or not hmac.compare_digest(raw[6:14], expected):
        raise bad_request("Invalid skip token.", "Request_BadRequest")
    return payload.decode()


# --- $filter --------------------------------------------------------------------------------------

Predicate = Callable[[JSON], bool]
Equalities = dict[str, str]  # property -> string literal it must equal
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w-])|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F-]{27})"
    r"|(?P<punct>[(),:])|(?P<word>[A-Za-z_@$][\w./@$-]*))"
)


@dataclass
class _Tok:
    kind: str
    value: str


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match or match.end() == pos:
            raise unsupported_query(f"Invalid filter clause: syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup or ""
        tokens.append(_Tok(kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _path_value(obj: Any, path: str) -> Any:
    value = obj
    for part in path.split("/"):
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool(
            {
                "gt": left > right,
                "ge": left >= right,
                "lt": left < right,
                "le": left <= right,
            }[op]
        )
    except TypeError:
        return False


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda o: a(o) or b(o)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda o: a(o) and b(o)


def _lambda_variable(path: str) -> Callable[[Any], Any]:
    """The value of a lambda variable (``s`` in ``any(s:s eq 'x')``), or a path below it."""
    return lambda o: _path_value(o.get("$lambda"), path) if path else o.get("$lambda")


class _FilterParser:
    """Recursive-descent parser producing a predicate over objects."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.properties: list[tuple[str, str]] = []  # (property, operator) pairs, for validation

    def error(self) -> GraphError:
        return unsupported_query(f"Invalid filter clause: '{self.text}'.")

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (value is not None and tok.value.lower() != value):
            raise self.error()
        self.pos += 1
        return tok

    def parse(self) -> tuple[Predicate, Equalities]:
        found = self.expr({})
        if self.peek() is not None:
            raise self.error()
        return found

    def expr(self, scope: dict[str, str]) -> tuple[Predicate, Equalities]:
        left, known = self.term(scope)
        while (tok := self.peek()) and tok.value.lower() == "or":
            self.take()
            right, _ = self.term(scope)
            left, known = _either(left, right), {}
        return left, known

    def term(self, scope: dict[str, str]) -> tuple[Predicate, Equalities]:
        left, known = self.factor(scope)
        while (tok := self.peek()) and tok.value.lower() == "and":
            self.take()
            right, more = self.factor(scope)
            left, known = _both(left, right), {**more, **known}
        return left, known

    def factor(self, scope: dict[str, str]) -> tuple[Predicate, Equalities]:
        tok = self.peek()
        if tok is None:
            raise self.error()
        if tok.value.lower() == "not":
            self.take()
            inner, _ = self.factor(scope)
            return (lambda o: not inner(o)), {}
        if tok.value == "(":
            self.take("(")
            found = self.expr(scope)
            self.take(")")
            return found
        if tok.kind == "word" and tok.value.lower() in {"startswith", "endswith", "contains"}:
            func = self.take().value.lower()
            self.take("(")
            getter = self.operand(scope)
            self.take(",")
            needle = self.operand(scope)
            self.take(")")

            def string_function(o: JSON) -> bool:
                haystack, value = getter(o), needle(o)
                if not isinstance(haystack, str) or not isinstance(value, str):
                    return False
                h, v = haystack.lower(), value.lower()
                return (
                    h.startswith(v)
                    if func == "startswith"
                    else h.endswith(v)
                    if func == "endswith"
                    else v in h
                )

            return string_function, {}
        if tok.kind == "word" and tok.value.lower().endswith(("/any", "/all")):
            quantified = self.operand(scope)  # a lambda is a whole boolean expression
            return (lambda o: bool(quantified(o))), {}
        getter = self.operand(scope)
        op_tok = self.take()
        op = op_tok.value.lower()
        if op == "in":
            self.take("(")
            values = [self.operand(scope)]
            while (t := self.peek()) and t.value == ",":
                self.take(",")
                values.append(self.operand(scope))
            self.take(")")
            return (lambda o: any(_compare("eq", getter(o), v(o)) for v in values)), {}
        if op not in {"eq", "ne", "gt", "ge", "lt", "le"}:
            raise self.error()
        literal = self.peek()
        right = self.operand(scope)
        known: Equalities = {}
        if (
            op == "eq"
            and _plain_property(tok, scope)
            and literal is not None
            and literal.kind in {"str", "guid"}
        ):
            known[tok.value] = right({})
        return (lambda o: _compare(op, getter(o), right(o))), known

    def operand(self, scope: dict[str, str]) -> Callable[[Any], Any]:
        tok = self.take()
        if tok.kind == "str":
            literal: Any = tok.value[1:-1].replace("''", "'")
            return lambda o: literal
        if tok.kind == "num":
            number = float(tok.value) if "." in tok.value else int(tok.value)
            return lambda o: number
        if tok.kind == "guid":
            guid = tok.value
            return lambda o: guid
        if tok.kind != "word":
            raise self.error()
        word = tok.value
        lowered = word.lower()
        if lowered in {"true", "false", "null"}:
            constant = {"true": True, "false": False, "null": None}[lowered]
            return lambda o: constant
        head, _, rest = word.partition("/")
        if head in scope:  # a lambda variable such as s in any(s:s eq 'x')
            return _lambda_variable(rest)
        if word.endswith("/any") or word.endswith("/all"):
            collection, _, quantifier = word.rpartition("/")
            self.take("(")
            if (t := self.peek()) and t.value == ")":
                self.take(")")
                return lambda o: bool(_path_value(o, collection))
            variable = self.take().value
            self.take(":")
            inner, _ = self.expr({**scope, variable: collection})
            self.take(")")
            check = any if quantifier == "any" else all

            def lambda_predicate(o: JSON) -> bool:
                items = _path_value(o, collection) or []
                return check(inner({**o, "$lambda": item}) for item in items)

            return lambda_predicate
        self.properties.append((word, ""))
        return lambda o: _path_value(o, word)


def _plain_property(tok: _Tok, scope: dict[str, str]) -> bool:
    """Whether ``tok`` names a top-level property of the filtered object (not a path or lambda variable)."""
    return (
        tok.kind == "word"
        and "/" not in tok.value
        and tok.value not in scope
        and tok.value.lower() not in {"true", "false", "null"}
    )


@dataclass
class Filter:
    text: str
    predicate: Predicate
    properties: list[str]
    # Properties every match must equal to a string literal (case-insensitively): top-level ``eq``
    # conjuncts, e.g. {"groupId": "x"} for ``groupId eq 'x' and ...``; lets a caller narrow its
    # candidates through an index before applying ``predicate``.
    equalities: Equalities = field(default_factory=dict)


def parse_filter(text: str) -> Filter:
    parser = _FilterParser(text)
    predicate, equalities = parser.parse()
    return Filter(text, predicate, [p for p, _ in parser.properties], equalities)


def filtered_equalities(text: str) -> dict[str, str]:
    """Properties compared with ``eq`` to a literal in a filter, e.g. scopeId/scopeType."""
    found: dict[str, str] = {}
    for match in re.finditer(r"([\w/]+)\s+eq\s+'((?:[^']|'')*)'", text, re.I):
        found[match.group(1)] = match.group(2).replace("''", "'")
    return found
