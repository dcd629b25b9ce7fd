"""Strict conformance of fakegraph's JSON to Microsoft Graph's published schema.

``violations(type_name, obj, version)`` lists every property path of ``obj`` that the schema does not
define for ``type_name`` (at every depth), plus light value checks (a primitive given an object, a
collection given a non-list, a boolean given a string, an enum value that is not a member).

Sources (``../shared/graph-schema`` beside the checkout): the v1.0 CSDL (types, base types, property
types, navigation properties, OpenType, enum members) and, for beta-only endpoints, the beta
property-name lists (names only: nested values are checked where the v1.0 CSDL knows the property's
type).

Open types (``OpenType="true"`` in the CSDL, e.g. ``user``) accept directory extension attributes
(``extension_<appId without dashes>_<name>``) besides their declared properties; nothing else is
waved through for them.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "shared" / "graph-schema"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"

# Instance annotations Graph puts on objects and collections.
OBJECT_ANNOTATIONS = {
    "@odata.context",
    "@odata.nextLink",
    "@odata.deltaLink",
    "@odata.type",
    "@odata.id",
    "@odata.count",
    "@odata.etag",
    "@odata.editLink",
    "@removed",
}
EXTENSION_ATTRIBUTE = re.compile(r"^extension_[0-9a-fA-F]{32}_\w+$")
STRINGY = {
    "Edm.String",
    "Edm.Guid",
    "Edm.DateTimeOffset",
    "Edm.Date",
    "Edm.TimeOfDay",
    "Edm.Duration",
    "Edm.Binary",
}
NUMERIC = {
    "Edm.Int16",
    "Edm.Int32",
    "Edm.Int64",
    "Edm.Byte",
    "Edm.SByte",
    "Edm.Double",
    "Edm.Single",
    "Edm.Decimal",
}


@dataclass(frozen=True)
class Prop:
    name: str
    type: str  # full element type name: "Edm.String", "microsoft.graph.identitySet"
    collection: bool
    navigation: bool


@dataclass
class TypeDef:
    name: str  # full name, e.g. "microsoft.graph.user"
    kind: str  # "entity" or "complex"
    base: str | None
    open: bool
    props: dict[str, Prop] = field(default_factory=dict)  # own properties only


@dataclass
class EnumDef:
    name: str
    flags: bool
    members: frozenset[str]


class Schema:
    """The v1.0 CSDL, indexed by full type name."""

    def __init__(self, csdl: Path) -> None:
        self.types: dict[str, TypeDef] = {}
        self.enums: dict[str, EnumDef] = {}
        root = ET.parse(csdl).getroot()
        schemas = list(root.iter(f"{EDM}Schema"))
        aliases: dict[str, str] = {}
        for schema in schemas:
            namespace = schema.attrib["Namespace"]
            aliases[namespace] = namespace
        for schema in schemas:
            namespace = schema.attrib["Namespace"]
            local = dict(aliases)
            # An alias is scoped to its schema document; Graph's CSDL uses each one consistently.
            for other in schemas:
                if "Alias" in other.attrib:
                    local[other.attrib["Alias"]] = other.attrib["Namespace"]
            if "Alias" in schema.attrib:
                local[schema.attrib["Alias"]] = namespace

            def resolve(ref: str, local: dict[str, str] = local) -> str:
                prefix, _, name = ref.rpartition(".")
                return f"{local.get(prefix, prefix)}.{name}" if prefix else ref

            for element in schema:
                tag = element.tag.removeprefix(EDM)
                if tag == "EnumType":
                    full = f"{namespace}.{element.attrib['Name']}"
                    members = frozenset(m.attrib["Name"] for m in element.iter(f"{EDM}Member"))
                    self.enums[full] = EnumDef(full, element.attrib.get("IsFlags") == "true", members)
                    continue
                if tag not in {"EntityType", "ComplexType"}:
                    continue
                full = f"{namespace}.{element.attrib['Name']}"
                base = element.attrib.get("BaseType")
                typedef = TypeDef(
                    full,
                    "entity" if tag == "EntityType" else "complex",
                    resolve(base) if base else None,
                    element.attrib.get("OpenType") == "true",
                )
                for child in element:
                    child_tag = child.tag.removeprefix(EDM)
                    if child_tag not in {"Property", "NavigationProperty"}:
                        continue
                    raw = child.attrib["Type"]
                    collection = raw.startswith("Collection(")
                    inner = raw[len("Collection(") : -1] if collection else raw
                    inner = inner if inner.startswith("Edm.") else resolve(inner)
                    name = child.attrib["Name"]
                    typedef.props[name] = Prop(name, inner, collection, child_tag == "NavigationProperty")
                self.types[full] = typedef

    def chain(self, name: str) -> list[TypeDef]:
        """The type and its base types, most derived first."""
        out: list[TypeDef] = []
        current: str | None = name
        while current is not None and current in self.types:
            out.append(self.types[current])
            current = out[-1].base
        return out

    @functools.cache  # noqa: B019 - one Schema per process
    def properties(self, name: str) -> dict[str, Prop]:
        merged: dict[str, Prop] = {}
        for typedef in reversed(self.chain(name)):
            merged.update(typedef.props)
        return merged

    def is_open(self, name: str) -> bool:
        return any(t.open for t in self.chain(name))

    def derives(self, sub: str, base: str) -> bool:
        return any(t.name == base for t in self.chain(sub))


class BetaNames:
    """Beta property names per type (own ones; base types come from the v1.0 CSDL where it knows them)."""

    def __init__(self, entity_json: Path, complex_json: Path) -> None:
        self.names: dict[str, set[str]] = {}
        self.navigations: dict[str, set[str]] = {}
        for path in (entity_json, complex_json):
            data = json.loads(path.read_text())
            for namespace, types in data.items():
                for name, entry in types.items():
                    full = f"{namespace}.{name}"
                    self.names.setdefault(full, set()).update(entry.get("properties", []))
                    self.navigations.setdefault(full, set()).update(entry.get("navigationProperties", []))
        self.entity_types = {
            f"{ns}.{n}" for ns, ts in json.loads(entity_json.read_text()).items() for n in ts
        }

    def __contains__(self, name: object) -> bool:
        return name in self.names


@functools.cache
def schema() -> Schema:
    return Schema(SCHEMA_DIR / "v1.0-Prod.csdl")


@functools.cache
def beta() -> BetaNames:
    return BetaNames(SCHEMA_DIR / "beta-entity-types.json", SCHEMA_DIR / "beta-complex-types.json")


def normalize(type_name: str) -> str:
    name = type_name.removeprefix("#")
    return name if "." in name else f"microsoft.graph.{name}"


def violations(type_name: str, obj: Any, version: str = "v1.0") -> list[str]:
    """Every path in ``obj`` that Graph's schema does not allow for ``type_name`` (empty: conformant)."""
    checker = _Checker(version)
    checker.value(normalize(type_name), obj, "$", typed=True)
    return checker.found


class _Checker:
    def __init__(self, version: str) -> None:
        self.version = version
        self.schema = schema()
        self.beta = beta() if version == "beta" else None
        self.found: list[str] = []

    def known(self, name: str) -> bool:
        if self.beta is not None:
            return name in self.beta or name in self.schema.types
        return name in self.schema.types

    def derived(self, declared: str, value: dict[str, Any], path: str) -> str | None:
        """The type to check ``value`` as: its @odata.type if valid, else ``declared``; None: give up."""
        annotated = value.get("@odata.type")
        if annotated is None:
            return declared
        if not isinstance(annotated, str) or not annotated.startswith("#"):
            self.found.append(f"{path}/@odata.type: {annotated!r} is not '#namespace.type'")
            return declared
        name = normalize(annotated)
        if not self.known(name):
            self.found.append(f"{path}/@odata.type: unknown type {name}")
            return None
        if (
            name in self.schema.types
            and declared in self.schema.types
            and not self.schema.derives(name, declared)
        ):
            self.found.append(f"{path}/@odata.type: {name} does not derive from {declared}")
        return name

    def value(self, type_name: str, value: Any, path: str, typed: bool = False) -> None:
        if value is None:
            return
        if type_name.startswith("Edm."):
            self.primitive(type_name, value, path)
            return
        enum = self.schema.enums.get(type_name)
        if enum is not None:
            self.enum_value(enum, value, path)
            return
        if not isinstance(value, dict):
            self.found.append(f"{path}: {type(value).__name__} where {type_name} (an object) belongs")
            return
        actual = self.derived(type_name, value, path)
        if actual is None:
            return
        if not self.known(actual):
            self.found.append(f"{path}: unknown type {actual}")
            return
        if self.beta is not None:
            self.beta_object(actual, value, path)
        else:
            self.v1_object(actual, value, path)

    def primitive(self, type_name: str, value: Any, path: str) -> None:
        if type_name in {"Edm.Untyped", "Edm.Stream"}:
            return
        if isinstance(value, dict | list):
            self.found.append(f"{path}: {type(value).__name__} where primitive {type_name} belongs")
        elif type_name == "Edm.Boolean" and not isinstance(value, bool):
            self.found.append(f"{path}: {value!r} is not an Edm.Boolean")
        elif type_name in STRINGY and not isinstance(value, str):
            self.found.append(f"{path}: {value!r} is not a string ({type_name})")
        elif (
            type_name in NUMERIC
            and (isinstance(value, bool) or not isinstance(value, int | float))
            and not (type_name in {"Edm.Double", "Edm.Single"} and value in {"INF", "-INF", "NaN"})
        ):
            self.found.append(f"{path}: {value!r} is not a number ({type_name})")

    def enum_value(self, enum: EnumDef, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.found.append(f"{path}: {value!r} is not a member name of enum {enum.name}")
            return
        parts = [p.strip() for p in value.split(",")] if enum.flags else [value]
        for part in parts:
            if part not in enum.members:
                self.found.append(f"{path}: {part!r} is not a member of enum {enum.name}")

    def annotation(self, key: str, props: set[str], navigations: set[str], is_open: bool, path: str) -> bool:
        """True if ``key`` is an allowed instance annotation (reported here otherwise)."""
        if key.startswith("@"):
            if key not in OBJECT_ANNOTATIONS:
                self.found.append(f"{path}/{key}: unknown annotation")
            return True
        if "@" not in key:
            return False
        prop, _, term = key.partition("@")
        if term == "delta" and prop in navigations:
            return True
        if term in {"odata.type", "odata.nextLink", "odata.count", "odata.context"} and (
            prop in props or is_open
        ):
            return True
        self.found.append(f"{path}/{key}: annotation not allowed here")
        return True

    def v1_object(self, type_name: str, obj: dict[str, Any], path: str) -> None:
        props = self.schema.properties(type_name)
        is_open = self.schema.is_open(type_name)
        navigations = {n for n, p in props.items() if p.navigation}
        for key, val in obj.items():
            if self.annotation(key, set(props), navigations, is_open, path):
                continue
            prop = props.get(key)
            where = f"{path}/{key}"
            if prop is None:
                if is_open and EXTENSION_ATTRIBUTE.match(key):
                    continue
                self.found.append(f"{where}: not a property of {type_name}")
                continue
            self.typed(prop, val, where)

    def typed(self, prop: Prop, val: Any, where: str) -> None:
        if val is None:
            return
        if prop.collection:
            if not isinstance(val, list):
                self.found.append(f"{where}: {type(val).__name__} where a collection of {prop.type} belongs")
                return
            for index, item in enumerate(val):
                self.value(prop.type, item, f"{where}[{index}]")
        else:
            if isinstance(val, list):
                self.found.append(f"{where}: list where a single {prop.type} belongs")
                return
            self.value(prop.type, val, where)

    def beta_object(self, type_name: str, obj: dict[str, Any], path: str) -> None:
        assert self.beta is not None
        chain = [t.name for t in self.schema.chain(type_name)] or [type_name]
        if chain[-1] != "microsoft.graph.entity" and (
            type_name in self.beta.entity_types or "microsoft.graph.entity" in chain
        ):
            chain.append("microsoft.graph.entity")
        names: set[str] = set()
        navigations: set[str] = set()
        for name in chain:
            names |= self.beta.names.get(name, set())
            navigations |= self.beta.navigations.get(name, set())
        if type_name not in self.beta:
            # Only in v1.0 (or not at all): the v1.0 definition is the best knowledge of it.
            names |= set(self.schema.properties(type_name))
        if "microsoft.graph.entity" in chain:
            names.add("id")
        v1_props = self.schema.properties(type_name) if type_name in self.schema.types else {}
        is_open = self.schema.is_open(type_name)
        for key, val in obj.items():
            if self.annotation(key, names | navigations, navigations, is_open, path):
                continue
            where = f"{path}/{key}"
            if key not in names and key not in navigations:
                if is_open and EXTENSION_ATTRIBUTE.match(key):
                    continue
                self.found.append(f"{where}: not a beta property of {type_name}")
                continue
            prop = v1_props.get(key)
            if prop is not None:
                self.typed(prop, val, where)
            elif isinstance(val, dict) and isinstance(val.get("@odata.type"), str):
                name = normalize(val["@odata.type"])
                if not self.known(name):
                    self.found.append(f"{where}/@odata.type: unknown type {name}")
