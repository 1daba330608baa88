#!/usr/bin/env python3
"""Generate kafkaio's protocol messages from Apache Kafka's JSON message specs.

Reads ``common/message/*.json`` from the kafka-clients jar of the release pinned in
``src/kafkaio/_pin.py`` (resolved with Maven into ~/.m2) and writes:

* ``src/kafkaio/protocol/messages/<api>.py``: one module per API with the request class,
  the response class and their nested structs, plus one module per "data" spec
  (e.g. ``consumer_protocol_subscription.py``);
* ``src/kafkaio/protocol/messages/__init__.py``: lazy exports of the top-level classes;
* ``src/kafkaio/protocol/apis.py``: per-API key, versions, flexible versions and routing.

Each struct gets straight-line encoder/decoder functions, one per distinct wire layout,
dispatched by version through a tuple; no field table is interpreted at run time.

Usage: ``python tools/generate_protocol.py`` (write) or ``--check`` (exit 1 on drift).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _spec import REPO, find_clients_jar, kafka_version, load_specs

OPEN = 0x7FFF
PROTOCOL_DIR = REPO / "src" / "kafkaio" / "protocol"
MESSAGES_DIR = PROTOCOL_DIR / "messages"
APIS_FILE = PROTOCOL_DIR / "apis.py"
GENERATOR = "tools/generate_protocol.py"

# Where each API's requests go. Not part of Kafka's specs: kept here by hand, and generation
# fails when a spec introduces an API missing from this table so that it gets a decision.
ROUTING: dict[str, str] = {
    "Produce": "PARTITION_LEADER",
    "Fetch": "PARTITION_LEADER",
    "ListOffsets": "PARTITION_LEADER",
    "Metadata": "ANY_BROKER",
    "LeaderAndIsr": "NOT_CLIENT",
    "StopReplica": "NOT_CLIENT",
    "UpdateMetadata": "NOT_CLIENT",
    "ControlledShutdown": "NOT_CLIENT",
    "OffsetCommit": "GROUP_COORDINATOR",
    "OffsetFetch": "GROUP_COORDINATOR",
    "FindCoordinator": "ANY_BROKER",
    "JoinGroup": "GROUP_COORDINATOR",
    "Heartbeat": "GROUP_COORDINATOR",
    "LeaveGroup": "GROUP_COORDINATOR",
    "SyncGroup": "GROUP_COORDINATOR",
    "DescribeGroups": "GROUP_COORDINATOR",
    "ListGroups": "ALL_BROKERS",
    "SaslHandshake": "BOOTSTRAP_ONLY",
    "ApiVersions": "BOOTSTRAP_ONLY",
    "CreateTopics": "ANY_BROKER",
    "DeleteTopics": "ANY_BROKER",
    "DeleteRecords": "PARTITION_LEADER",
    # Only transactional producers need the coordinator; idempotent ones may use any broker.
    "InitProducerId": "TRANSACTION_COORDINATOR",
    "OffsetForLeaderEpoch": "PARTITION_LEADER",
    "AddPartitionsToTxn": "TRANSACTION_COORDINATOR",
    "AddOffsetsToTxn": "TRANSACTION_COORDINATOR",
    "EndTxn": "TRANSACTION_COORDINATOR",
    "WriteTxnMarkers": "PARTITION_LEADER",
    "TxnOffsetCommit": "GROUP_COORDINATOR",
    "DescribeAcls": "ANY_BROKER",
    "CreateAcls": "ANY_BROKER",
    "DeleteAcls": "ANY_BROKER",
    # Broker-resource configs need that broker; the admin layer picks it.
    "DescribeConfigs": "ANY_BROKER",
    "AlterConfigs": "ANY_BROKER",
    "AlterReplicaLogDirs": "ANY_BROKER",
    "DescribeLogDirs": "ALL_BROKERS",
    "SaslAuthenticate": "BOOTSTRAP_ONLY",
    "CreatePartitions": "ANY_BROKER",
    "CreateDelegationToken": "ANY_BROKER",
    "RenewDelegationToken": "ANY_BROKER",
    "ExpireDelegationToken": "ANY_BROKER",
    "DescribeDelegationToken": "ANY_BROKER",
    "DeleteGroups": "GROUP_COORDINATOR",
    "ElectLeaders": "ANY_BROKER",
    "IncrementalAlterConfigs": "ANY_BROKER",
    "AlterPartitionReassignments": "ANY_BROKER",
    "ListPartitionReassignments": "ANY_BROKER",
    "OffsetDelete": "GROUP_COORDINATOR",
    "DescribeClientQuotas": "ANY_BROKER",
    "AlterClientQuotas": "ANY_BROKER",
    "DescribeUserScramCredentials": "ANY_BROKER",
    "AlterUserScramCredentials": "ANY_BROKER",
    "Vote": "NOT_CLIENT",
    "BeginQuorumEpoch": "NOT_CLIENT",
    "EndQuorumEpoch": "NOT_CLIENT",
    "DescribeQuorum": "ANY_BROKER",
    "AlterPartition": "NOT_CLIENT",
    "UpdateFeatures": "ANY_BROKER",
    "Envelope": "NOT_CLIENT",
    "FetchSnapshot": "NOT_CLIENT",
    "DescribeCluster": "ANY_BROKER",
    "DescribeProducers": "PARTITION_LEADER",
    "BrokerRegistration": "NOT_CLIENT",
    "BrokerHeartbeat": "NOT_CLIENT",
    "UnregisterBroker": "ANY_BROKER",
    "DescribeTransactions": "TRANSACTION_COORDINATOR",
    "ListTransactions": "ALL_BROKERS",
    "AllocateProducerIds": "NOT_CLIENT",
    "ConsumerGroupHeartbeat": "GROUP_COORDINATOR",
    "ConsumerGroupDescribe": "GROUP_COORDINATOR",
    "ControllerRegistration": "NOT_CLIENT",
    "GetTelemetrySubscriptions": "ANY_BROKER",
    "PushTelemetry": "ANY_BROKER",
    "AssignReplicasToDirs": "NOT_CLIENT",
    "ListConfigResources": "ANY_BROKER",
    "DescribeTopicPartitions": "ANY_BROKER",
    "ShareGroupHeartbeat": "GROUP_COORDINATOR",
    "ShareGroupDescribe": "GROUP_COORDINATOR",
    "ShareFetch": "PARTITION_LEADER",
    "ShareAcknowledge": "PARTITION_LEADER",
    "AddRaftVoter": "ANY_BROKER",
    "RemoveRaftVoter": "ANY_BROKER",
    "UpdateRaftVoter": "NOT_CLIENT",
    "InitializeShareGroupState": "SHARE_COORDINATOR",
    "ReadShareGroupState": "SHARE_COORDINATOR",
    "WriteShareGroupState": "SHARE_COORDINATOR",
    "DeleteShareGroupState": "SHARE_COORDINATOR",
    "ReadShareGroupStateSummary": "SHARE_COORDINATOR",
    "StreamsGroupHeartbeat": "GROUP_COORDINATOR",
    "StreamsGroupDescribe": "GROUP_COORDINATOR",
    "DescribeShareGroupOffsets": "GROUP_COORDINATOR",
    "AlterShareGroupOffsets": "GROUP_COORDINATOR",
    "DeleteShareGroupOffsets": "GROUP_COORDINATOR",
}

# Spec names whose mechanical snake_case reads badly.
_NAME_OVERRIDES = {"KRaft": "Kraft", "2Pc": "2pc"}

# Fixed-width primitives: struct format char, size, Python type.
FIXED: dict[str, tuple[str, int, str]] = {
    "int8": ("b", 1, "int"),
    "int16": ("h", 2, "int"),
    "uint16": ("H", 2, "int"),
    "int32": ("i", 4, "int"),
    "uint32": ("I", 4, "int"),
    "int64": ("q", 8, "int"),
    "float64": ("d", 8, "float"),
    "bool": ("?", 1, "bool"),
}
VARIABLE = ("string", "bytes", "records", "uuid")
PRIMITIVES = set(FIXED) | set(VARIABLE)
_FMT_NAME = {"b": "b", "h": "h", "H": "H", "i": "i", "I": "I", "q": "q", "d": "d", "?": "o"}

# Element readers/writers for arrays of primitives: (reader, writer) by (type, compact).
_ELEM_CODEC: dict[tuple[str, bool], tuple[str, str]] = {
    ("string", False): ("read_string", "write_string"),
    ("string", True): ("read_compact_string", "write_compact_string"),
    ("bytes", False): ("read_bytes", "write_bytes"),
    ("bytes", True): ("read_compact_bytes", "write_compact_bytes"),
    ("uuid", False): ("read_uuid", "write_uuid"),
    ("uuid", True): ("read_uuid", "write_uuid"),
}
for _t in FIXED:
    _ELEM_CODEC[(_t, False)] = (f"read_{_t}", f"write_{_t}")
    _ELEM_CODEC[(_t, True)] = (f"read_{_t}", f"write_{_t}")

# Names the generated modules import; struct class names must not collide with them.
RESERVED = {
    "ClassVar",
    "Struct",
    "UUID",
    "Buffer",
    "FieldInfo",
    "Message",
    "Request",
    "Response",
    "RoutingKind",
    "ZERO_UUID",
    "dataclass",
    "field",
}


class SpecError(Exception):
    """The specs contain something this generator does not understand."""


# -- spec model -------------------------------------------------------------------------


def parse_versions(text: str | None) -> tuple[int, int] | None:
    """Parse a spec version range: ``"3+"``, ``"0-2"``, ``"5"`` or ``"none"``."""
    if text is None or text == "none":
        return None
    text = text.strip()
    if text.endswith("+"):
        return int(text[:-1]), OPEN
    if "-" in text:
        lo, hi = text.split("-", 1)
        return int(lo), int(hi)
    return int(text), int(text)


def in_range(rng: tuple[int, int] | None, version: int) -> bool:
    return rng is not None and rng[0] <= version <= rng[1]


def snake_case(name: str) -> str:
    for old, new in _NAME_OVERRIDES.items():
        name = name.replace(old, new)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def describe_range(rng: tuple[int, int] | None) -> str:
    if rng is None:
        return "none"
    if rng[1] == OPEN:
        return f"{rng[0]}+"
    if rng[0] == rng[1]:
        return str(rng[0])
    return f"{rng[0]}-{rng[1]}"


@dataclass(eq=False)
class FieldSpec:
    name: str
    attr: str
    type: str
    versions: tuple[int, int]
    nullable: tuple[int, int] | None
    tagged: tuple[int, int] | None
    tag: int | None
    ignorable: bool
    default: Any
    about: str
    flexible_override: tuple[int, int] | str | None
    struct: StructSpec | None = None

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def elem(self) -> str:
        return self.type[2:] if self.is_array else self.type

    def present(self, v: int) -> bool:
        return in_range(self.versions, v)

    def tagged_at(self, v: int) -> bool:
        return in_range(self.tagged, v)

    def nullable_at(self, v: int) -> bool:
        return in_range(self.nullable, v)


@dataclass(eq=False)
class StructSpec:
    spec_name: str
    cls: str
    about: str
    fields: list[FieldSpec]
    api: str
    flexible: tuple[int, int] | None
    versions: set[int] = field(default_factory=set)
    enc: dict[int, str] = field(default_factory=dict)
    dec: dict[int, str] = field(default_factory=dict)

    def is_flexible(self, v: int) -> bool:
        return in_range(self.flexible, v)


@dataclass(eq=False)
class TopSpec:
    """A top-level message (request, response or data spec)."""

    kind: str
    name: str
    struct: StructSpec
    valid: tuple[int, int]
    stable_max: int
    flexible: tuple[int, int] | None
    api_key: int | None


# -- parsing ----------------------------------------------------------------------------


def collect_struct_defs(
    fields: list[dict[str, Any]], common: dict[str, dict[str, Any]], acc: dict[str, str]
) -> None:
    """Map struct name -> canonical JSON of its definition (for collision decisions)."""
    for f in fields:
        elem = f["type"].removeprefix("[]")
        if elem in PRIMITIVES:
            continue
        sub = f.get("fields")
        if sub is None:
            if elem not in common:
                raise SpecError(f"struct type {elem!r} has neither fields nor a commonStruct")
            sub = common[elem]["fields"]
        canon = json.dumps(sub, sort_keys=True)
        if acc.get(elem, canon) != canon:
            raise SpecError(f"struct {elem!r} defined twice with different fields")
        acc[elem] = canon
        collect_struct_defs(sub, common, acc)


class ModuleBuilder:
    """Builds the struct tree of the messages that share one generated module."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.structs: dict[str, StructSpec] = {}
        self.class_names: dict[tuple[str, str], str] = {}

    def assign_names(
        self,
        tops: list[tuple[str, dict[str, Any]]],
    ) -> None:
        per_side: list[tuple[str, dict[str, str]]] = []
        for top_name, spec in tops:
            common = {c["name"]: c for c in spec.get("commonStructs", [])}
            acc: dict[str, str] = {}
            collect_struct_defs(spec.get("fields", []), common, acc)
            for c in spec.get("commonStructs", []):
                acc.setdefault(c["name"], json.dumps(c["fields"], sort_keys=True))
            per_side.append((top_name, acc))
        tops_names = {t for t, _ in tops}
        for top_name, acc in per_side:
            for name, canon in acc.items():
                clash = any(
                    name in other and other[name] != canon
                    for other_top, other in per_side
                    if other_top != top_name
                )
                cls = f"{top_name}{name}" if clash or name in tops_names else name
                if cls in RESERVED:
                    cls = f"{top_name}{name}"
                self.class_names[(top_name, name)] = cls

    def build_top(
        self, top_name: str, spec: dict[str, Any], flexible: tuple[int, int] | None
    ) -> StructSpec:
        common = {c["name"]: c for c in spec.get("commonStructs", [])}
        fields = [self.build_field(top_name, f, common, flexible) for f in spec.get("fields", [])]
        struct = StructSpec(
            spec_name=top_name,
            cls=top_name,
            about="",
            fields=fields,
            api=self.api,
            flexible=flexible,
        )
        self.check_attrs(struct)
        return struct

    def build_struct(
        self,
        top_name: str,
        name: str,
        about: str,
        sub: list[dict[str, Any]],
        common: dict[str, dict[str, Any]],
        flexible: tuple[int, int] | None,
    ) -> StructSpec:
        cls = self.class_names[(top_name, name)]
        existing = self.structs.get(cls)
        if existing is not None:
            if existing.flexible != flexible:
                raise SpecError(f"shared struct {cls} used with different flexible versions")
            if not existing.about and about:
                existing.about = about
            return existing
        struct = StructSpec(
            spec_name=name, cls=cls, about=about, fields=[], api=self.api, flexible=flexible
        )
        self.structs[cls] = struct
        struct.fields = [self.build_field(top_name, f, common, flexible) for f in sub]
        self.check_attrs(struct)
        return struct

    def build_field(
        self,
        top_name: str,
        f: dict[str, Any],
        common: dict[str, dict[str, Any]],
        flexible: tuple[int, int] | None,
    ) -> FieldSpec:
        versions = parse_versions(f["versions"])
        if versions is None:
            raise SpecError(f"field {f['name']} has no versions")
        tagged = parse_versions(f.get("taggedVersions"))
        if (tagged is None) != ("tag" not in f):
            raise SpecError(f"field {f['name']}: tag and taggedVersions must come together")
        if tagged is not None and tagged != versions:
            raise SpecError(f"field {f['name']}: tagged only in part of its versions")
        flex_override: tuple[int, int] | str | None = "inherit"
        if "flexibleVersions" in f:
            flex_override = parse_versions(f["flexibleVersions"])
        fs = FieldSpec(
            name=f["name"],
            attr=snake_case(f["name"]),
            type=f["type"],
            versions=versions,
            nullable=parse_versions(f.get("nullableVersions")),
            tagged=tagged,
            tag=f.get("tag"),
            ignorable=bool(f.get("ignorable", False)),
            default=f.get("default"),
            about=f.get("about", ""),
            flexible_override=flex_override,
        )
        if fs.elem not in PRIMITIVES:
            sub = f.get("fields")
            about = f.get("about", "")
            if sub is None:
                sub = common[fs.elem]["fields"]
            fs.struct = self.build_struct(top_name, fs.elem, about, sub, common, flexible)
        elif "fields" in f:
            raise SpecError(f"primitive field {f['name']} has sub-fields")
        if fs.nullable is not None and fs.elem in FIXED and not fs.is_array:
            raise SpecError(f"field {f['name']}: {fs.type} cannot be nullable")
        return fs

    @staticmethod
    def check_attrs(struct: StructSpec) -> None:
        seen = {"unknown_tagged_fields", "field", "dataclass", "FIELDS", "encode", "decode"}
        for f in struct.fields:
            if f.attr in seen or not f.attr.isidentifier():
                raise SpecError(f"{struct.cls}: bad or duplicate attribute name {f.attr!r}")
            seen.add(f.attr)


def mark_versions(struct: StructSpec, versions: Iterable[int]) -> None:
    new = set(versions) - struct.versions
    if not new:
        return
    struct.versions |= new
    for f in struct.fields:
        if f.struct is not None:
            mark_versions(f.struct, [v for v in new if f.present(v)])


def struct_order(roots: list[StructSpec]) -> list[StructSpec]:
    """Structs in dependency order (children first), each once."""
    out: list[StructSpec] = []
    seen: set[int] = set()

    def visit(s: StructSpec) -> None:
        if id(s) in seen:
            return
        seen.add(id(s))
        for f in s.fields:
            if f.struct is not None:
                visit(f.struct)
        out.append(s)

    for r in roots:
        visit(r)
    return out


# -- code generation --------------------------------------------------------------------


def doc_literal(text: str, indent: str) -> str:
    """A safe triple-quoted docstring for ``text``."""
    text = " ".join(text.split())
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" for c in text)
    return f'{indent}"""{text}"""'


class ModuleGen:
    """Generates the source of one messages module."""

    def __init__(self, api: str, tops: list[TopSpec]) -> None:
        self.api = api
        self.tops = tops
        self.imports_prim: set[str] = set()
        self.imports_api: set[str] = {"FieldInfo"}
        self.uses_uuid = False
        self.uses_field = False
        self.structs_fmt: dict[str, str] = {}
        self.functions: list[str] = []
        self.fn_by_body: dict[tuple[str, str], str] = {}

    # -- naming helpers
    def prim(self, name: str) -> str:
        self.imports_prim.add(name)
        return name

    def fmt_struct(self, fmt: str) -> str:
        name = "_S_" + "".join(_FMT_NAME[c] for c in fmt)
        self.structs_fmt[name] = ">" + fmt
        return name

    # -- types and defaults
    def py_type(self, f: FieldSpec) -> str:
        elem = f.elem
        if f.struct is not None:
            base = f.struct.cls
        elif elem in FIXED:
            base = FIXED[elem][2]
        elif elem == "string":
            base = "str"
        elif elem in ("bytes", "records"):
            base = "bytes"
        elif elem == "uuid":
            self.uses_uuid = True
            base = "UUID"
        else:
            raise SpecError(f"unknown type {f.type}")
        if f.is_array:
            base = f"list[{base}]"
        if f.nullable is not None or f.type == "records":
            base = f"{base} | None"
        return base

    def default_value(self, f: FieldSpec) -> str:
        """Python expression for a fresh default value of ``f``."""
        d = f.default
        if f.type == "records":
            return "None"
        if f.is_array:
            if d == "null":
                self.require_nullable_default(f)
                return "None"
            if d not in (None, ""):
                raise SpecError(f"array field {f.name} has unsupported default {d!r}")
            return "[]"
        if f.struct is not None:
            if d == "null":
                self.require_nullable_default(f)
                return "None"
            if d is not None:
                raise SpecError(f"struct field {f.name} has unsupported default {d!r}")
            return f"{f.struct.cls}()"
        t = f.type
        if t == "bool":
            if d is None:
                return "False"
            if isinstance(d, bool):
                return repr(d)
            if str(d).lower() in ("true", "false"):
                return "True" if str(d).lower() == "true" else "False"
            raise SpecError(f"bad bool default {d!r} for {f.name}")
        if t in FIXED and t != "float64":
            if d is None:
                return "0"
            value = _parse_int(d)
            lo, hi = _int_range(t)
            if not lo <= value <= hi:
                raise SpecError(f"default {d!r} out of range for {t} field {f.name}")
            return repr(value)
        if t == "float64":
            return repr(float(d)) if d is not None else "0.0"
        if t == "string":
            if d == "null":
                self.require_nullable_default(f)
                return "None"
            return repr("" if d is None else str(d))
        if t == "bytes":
            if d == "null":
                self.require_nullable_default(f)
                return "None"
            if d not in (None, ""):
                raise SpecError(f"bytes field {f.name} has unsupported default {d!r}")
            return 'b""'
        if t == "uuid":
            if d not in (None, ""):
                raise SpecError(f"uuid field {f.name} has unsupported default {d!r}")
            self.imports_prim.add("ZERO_UUID")
            return "ZERO_UUID"
        raise SpecError(f"unknown type {t}")

    @staticmethod
    def require_nullable_default(f: FieldSpec) -> None:
        if f.nullable is None or f.nullable[0] > f.versions[0] or f.nullable[1] < f.versions[1]:
            raise SpecError(f"field {f.name}: default null but not nullable in all versions")

    def dataclass_default(self, f: FieldSpec) -> str:
        value = self.default_value(f)
        if value == "[]":
            self.uses_field = True
            return "field(default_factory=list)"
        if f.struct is not None and value != "None":
            self.uses_field = True
            return f"field(default_factory={f.struct.cls})"
        return value

    def is_default(self, f: FieldSpec, expr: str) -> str:
        """Condition that holds when ``expr`` (the value of ``f``) is the field's default."""
        value = self.default_value(f)
        if value == "None":
            return f"{expr} is None"
        if value == "[]":
            return f"not {expr}"
        return f"{expr} == {value}"

    def not_default(self, f: FieldSpec, expr: str) -> str:
        value = self.default_value(f)
        if value == "True":
            return f"not {expr}"
        if value == "False":
            return expr
        if value == "None":
            return f"{expr} is not None"
        if value == "[]":
            return expr
        return f"{expr} != {value}"

    # -- per-field codec snippets
    def compact(self, s: StructSpec, f: FieldSpec, v: int) -> bool:
        if f.flexible_override != "inherit":
            assert not isinstance(f.flexible_override, str)
            return in_range(f.flexible_override, v)
        return s.is_flexible(v)

    def elem_codec(self, s: StructSpec, f: FieldSpec, v: int) -> tuple[str, str]:
        """(reader, writer) names for one array element of ``f`` at ``v``."""
        if f.struct is not None:
            return f.struct.dec[v], f.struct.enc[v]
        key = (f.elem, self.compact(s, f, v))
        if key not in _ELEM_CODEC:
            raise SpecError(f"arrays of {f.elem} are not supported")
        reader, writer = _ELEM_CODEC[key]
        return self.prim(reader), self.prim(writer)

    def reader_expr(self, s: StructSpec, f: FieldSpec, v: int, src: str, pos: str) -> str:
        """Expression evaluating to ``(value, new_pos)`` for ``f`` at ``v``."""
        compact = self.compact(s, f, v)
        nullable = f.nullable_at(v) or (f.type == "records" and f.nullable is None)
        cp = "compact_" if compact else ""
        nl = "nullable_" if nullable else ""
        if f.is_array:
            reader, _ = self.elem_codec(s, f, v)
            return f"{self.prim(f'read_{cp}{nl}array')}({src}, {pos}, {reader})"
        t = f.type
        if f.struct is not None:
            if nullable:
                return f"{self.prim('read_nullable_struct')}({src}, {pos}, {f.struct.dec[v]})"
            return f"{f.struct.dec[v]}({src}, {pos})"
        if t in FIXED:
            return f"{self.prim('read_' + t)}({src}, {pos})"
        if t == "uuid":
            return f"{self.prim('read_uuid')}({src}, {pos})"
        if t == "string":
            return f"{self.prim(f'read_{cp}{nl}string')}({src}, {pos})"
        if t in ("bytes", "records"):
            return f"{self.prim(f'read_{cp}{nl}bytes')}({src}, {pos})"
        raise SpecError(f"unknown type {t}")

    def writer_lines(self, s: StructSpec, f: FieldSpec, v: int, w: str, expr: str) -> list[str]:
        """Statements appending ``expr`` (the value of ``f``) to bytearray ``w`` at ``v``."""
        compact = self.compact(s, f, v)
        nullable = f.nullable_at(v) or (f.type == "records" and f.nullable is None)
        out: list[str] = []
        may_be_none = f.nullable is not None or f.type == "records"
        if may_be_none and not nullable:
            fn = self.api_fn("field_is_null")
            out.append(f"if {expr} is None:")
            out.append(f"    raise {fn}({s.cls!r}, {f.attr!r}, {describe_range(f.nullable)!r})")
        cp = "compact_" if compact else ""
        nl = "nullable_" if nullable else ""
        t = f.type
        if f.is_array:
            _, writer = self.elem_codec(s, f, v)
            out.append(f"{self.prim(f'write_{cp}{nl}array')}({w}, {expr}, {writer})")
        elif f.struct is not None:
            if nullable:
                out.append(f"{self.prim('write_nullable_struct')}({w}, {expr}, {f.struct.enc[v]})")
            else:
                out.append(f"{f.struct.enc[v]}({w}, {expr})")
        elif t in FIXED:
            out.append(f"{w} += {self.fmt_struct(FIXED[t][0])}.pack({expr})")
        elif t == "uuid":
            out.append(f"{w} += {expr}.bytes")
        elif t == "string":
            out.append(f"{self.prim(f'write_{cp}{nl}string')}({w}, {expr})")
        elif t in ("bytes", "records"):
            out.append(f"{self.prim(f'write_{cp}{nl}bytes')}({w}, {expr})")
        else:
            raise SpecError(f"unknown type {t}")
        return out

    def api_fn(self, name: str) -> str:
        self.imports_api.add(name)
        return name

    # -- per-struct, per-version functions
    def register(self, kind: str, s: StructSpec, body: list[str], signature: str) -> str:
        text = "\n".join(body)
        key = (s.cls, kind + text)
        name = self.fn_by_body.get(key)
        if name is None:
            n = sum(1 for k in self.fn_by_body if k[0] == s.cls and k[1].startswith(kind))
            name = f"_{kind}_{s.cls}_{n}"
            self.fn_by_body[key] = name
            self.functions.append(
                f"def {name}{signature}:\n" + "\n".join("    " + ln if ln else "" for ln in body)
            )
        return name

    def gen_encoder(self, s: StructSpec, v: int) -> str:
        body: list[str] = []
        flexible = s.is_flexible(v)
        if not flexible:
            fn = self.api_fn("tagged_fields_not_supported")
            body.append("if o.unknown_tagged_fields:")
            body.append(f"    raise {fn}({self.api!r}, {s.cls!r})")
        for f in s.fields:
            if f.present(v) or f.ignorable:
                continue
            fn = self.api_fn("field_not_supported")
            body.append(f"if {self.not_default(f, 'o.' + f.attr)}:")
            body.append(
                f"    raise {fn}({self.api!r}, {s.cls!r}, {f.attr!r}, {describe_range(f.versions)!r})"
            )
        regular = [f for f in s.fields if f.present(v) and not f.tagged_at(v)]
        i = 0
        while i < len(regular):
            f = regular[i]
            if f.type in FIXED:
                group = [f]
                while i + len(group) < len(regular) and regular[i + len(group)].type in FIXED:
                    group.append(regular[i + len(group)])
                fmt = "".join(FIXED[g.type][0] for g in group)
                args = ", ".join(f"o.{g.attr}" for g in group)
                body.append(f"w += {self.fmt_struct(fmt)}.pack({args})")
                i += len(group)
                continue
            body.extend(self.writer_lines(s, f, v, "w", f"o.{f.attr}"))
            i += 1
        if flexible:
            tagged = sorted(
                (f for f in s.fields if f.present(v) and f.tagged_at(v)), key=lambda f: f.tag or 0
            )
            if tagged:
                body.append("tf: list[tuple[int, bytes]] = []")
                for f in tagged:
                    body.append(f"if {self.not_default(f, 'o.' + f.attr)}:")
                    body.append("    t = bytearray()")
                    body.extend(
                        "    " + ln for ln in self.writer_lines(s, f, v, "t", f"o.{f.attr}")
                    )
                    body.append(f"    tf.append(({f.tag}, bytes(t)))")
                body.append(f"{self.prim('write_tagged_fields')}(w, tf, o.unknown_tagged_fields)")
            else:
                body.append(
                    f"{self.prim('write_unknown_tagged_fields')}(w, o.unknown_tagged_fields)"
                )
        if not body:
            body.append("return")
        return self.register("enc", s, body, f"(w: bytearray, o: {s.cls}) -> None")

    def gen_decoder(self, s: StructSpec, v: int) -> str:
        body: list[str] = []
        flexible = s.is_flexible(v)
        regular = [f for f in s.fields if f.present(v) and not f.tagged_at(v)]
        i = 0
        while i < len(regular):
            f = regular[i]
            if f.type in FIXED:
                group = [f]
                while i + len(group) < len(regular) and regular[i + len(group)].type in FIXED:
                    group.append(regular[i + len(group)])
                fmt = "".join(FIXED[g.type][0] for g in group)
                size = sum(FIXED[g.type][1] for g in group)
                st = self.fmt_struct(fmt)
                if len(group) == 1:
                    body.append(f"v_{f.attr} = {st}.unpack_from(b, p)[0]")
                else:
                    names = ", ".join(f"v_{g.attr}" for g in group)
                    body.append(f"{names} = {st}.unpack_from(b, p)")
                body.append(f"p += {size}")
                i += len(group)
                continue
            body.append(f"v_{f.attr}, p = {self.reader_expr(s, f, v, 'b', 'p')}")
            i += 1
        unknown = "{}"
        if flexible:
            tagged = sorted(
                (f for f in s.fields if f.present(v) and f.tagged_at(v)), key=lambda f: f.tag or 0
            )
            for f in tagged:
                body.append(f"v_{f.attr}: {self.py_type(f)} = {self.default_value(f)}")
            body.append(f"v_tags, p = {self.prim('read_tagged_fields')}(b, p)")
            if tagged:
                body.append("if v_tags:")
                for f in tagged:
                    body.append(f"    raw = v_tags.pop({f.tag}, None)")
                    body.append("    if raw is not None:")
                    body.append(f"        v_{f.attr} = {self.reader_expr(s, f, v, 'raw', '0')}[0]")
            unknown = "v_tags"
        args = [f"v_{f.attr}" if f.present(v) else self.default_value(f) for f in s.fields]
        args.append(unknown)
        body.append(f"return {s.cls}({', '.join(args)}), p")
        self.prim("Buffer")
        return self.register("dec", s, body, f"(b: Buffer, p: int) -> tuple[{s.cls}, int]")

    # -- classes
    def field_info(self, f: FieldSpec) -> str:
        if f.struct is not None:
            wire = "[]struct" if f.is_array else "struct"
            sname = repr(f.struct.cls)
        else:
            wire = f.type
            sname = "None"
        nullable = "None" if f.nullable is None else repr(f.nullable)
        return (
            f"FieldInfo({f.attr!r}, {wire!r}, {f.versions!r}, {nullable}, "
            f"{f.tag!r}, {f.ignorable!r}, {sname})"
        )

    def class_source(self, s: StructSpec, top: TopSpec | None) -> str:
        lines: list[str] = []
        if top is None:
            base = "Message"
            doc = s.about or f"{s.spec_name} struct of the {self.api} API."
        elif top.kind == "request":
            base = "Request"
            doc = f"{top.name} (API key {top.api_key}): request, versions {describe_range(top.valid)}."
        elif top.kind == "response":
            base = "Response"
            doc = f"{top.name} (API key {top.api_key}): response, versions {describe_range(top.valid)}."
        else:
            base = "Message"
            doc = f"{top.name} data, versions {describe_range(top.valid)} (not an API message)."
        self.imports_api.add(base)
        lines.append("@dataclass(slots=True)")
        lines.append(f"class {s.cls}({base}):")
        lines.append(doc_literal(doc, "    "))
        lines.append("")
        if top is not None:
            if top.kind in ("request", "response"):
                lines.append(f"    API_KEY = {top.api_key}")
                lines.append(f"    API_NAME = {self.api!r}")
                lines.append(f"    LATEST_VERSION = {top.valid[1]}")
            else:
                lines.append("    MIN_VERSION: ClassVar[int] = " + str(top.valid[0]))
                lines.append("    MAX_VERSION: ClassVar[int] = " + str(top.stable_max))
                lines.append(
                    "    FLEXIBLE_MIN_VERSION: ClassVar[int | None] = "
                    + repr(top.flexible[0] if top.flexible else None)
                )
            if top.kind in ("request", "response"):
                lines.append(f"    MIN_VERSION = {top.valid[0]}")
                lines.append(f"    MAX_VERSION = {top.stable_max}")
                lines.append(
                    f"    FLEXIBLE_MIN_VERSION = {top.flexible[0] if top.flexible else None!r}"
                )
            if top.kind == "request":
                self.imports_api.add("RoutingKind")
                lines.append(f"    ROUTING = RoutingKind.{ROUTING[self.api]}")
            if top.kind == "response" and self.api == "ApiVersions":
                lines.append("    _HEADER_ALWAYS_V0 = True")
        infos = ", ".join(self.field_info(f) for f in s.fields)
        lines.append(f"    FIELDS = ({infos}{',' if len(s.fields) == 1 else ''})")
        lines.append(f"    _LABEL = {s.cls!r}")
        lines.append("")
        for f in s.fields:
            lines.append(f"    {f.attr}: {self.py_type(f)} = {self.dataclass_default(f)}")
            if f.about:
                lines.append(doc_literal(f.about, "    "))
        self.uses_field = True
        lines.append("    unknown_tagged_fields: dict[int, bytes] = field(default_factory=dict)")
        lines.append('    """Tagged fields unknown to this release, kept verbatim and re-sent."""')
        return "\n".join(lines)

    def render(self, pin: str, module_doc: str) -> str:
        roots = [t.struct for t in self.tops]
        order = struct_order(roots)
        for s in order:
            s.versions = set()
        for t in self.tops:
            mark_versions(t.struct, range(t.valid[0], t.valid[1] + 1))
        # codecs, children first so parents can name child functions
        for s in order:
            for v in sorted(s.versions):
                s.enc[v] = self.gen_encoder(s, v)
                s.dec[v] = self.gen_decoder(s, v)
        top_by_struct = {id(t.struct): t for t in self.tops}
        classes = [self.class_source(s, top_by_struct.get(id(s))) for s in order]
        tables: list[str] = []
        for s in order:
            vmin = min(s.versions)
            vmax = max(s.versions)
            enc = [s.enc.get(v, "None") for v in range(vmin, vmax + 1)]
            dec = [s.dec.get(v, "None") for v in range(vmin, vmax + 1)]
            tables.append(f"{s.cls}._VMIN = {vmin}")
            tables.append(f"{s.cls}._ENCODERS = ({', '.join(enc)},)")
            tables.append(f"{s.cls}._DECODERS = ({', '.join(dec)},)")
        req = next((t for t in self.tops if t.kind == "request"), None)
        resp = next((t for t in self.tops if t.kind == "response"), None)
        if req is not None and resp is not None:
            tables.append(f"{req.struct.cls}.RESPONSE_TYPE = {resp.struct.cls}")
            tables.append(f"{resp.struct.cls}.REQUEST_TYPE = {req.struct.cls}")

        out: list[str] = []
        out.append(
            f"# Generated by {GENERATOR} from Apache Kafka {pin} message specs. DO NOT EDIT."
        )
        out.append(f'"""{module_doc}"""')
        out.append("")
        out.append("from __future__ import annotations")
        out.append("")
        out.append("from dataclasses import dataclass" + (", field" if self.uses_field else ""))
        if self.structs_fmt:
            out.append("from struct import Struct")
        if any(t.kind == "data" for t in self.tops):
            out.append("from typing import ClassVar")
        if self.uses_uuid:
            out.append("from uuid import UUID")
        out.append("")
        out.append(_import_block("kafkaio.protocol.api", self.imports_api))
        out.append(_import_block("kafkaio.protocol.primitives", self.imports_prim))
        out.append("")
        top_names = [t.struct.cls for t in self.tops]
        out.append(f"__all__ = [{', '.join(repr(n) for n in sorted(s.cls for s in order))}]")
        del top_names
        out.append("")
        for name in sorted(self.structs_fmt):
            out.append(f"{name} = Struct({self.structs_fmt[name]!r})")
        out.append("")
        out.append("")
        out.append("\n\n\n".join(classes))
        out.append("")
        out.append("")
        out.append("\n\n\n".join(self.functions))
        out.append("")
        out.append("")
        out.extend(tables)
        return "\n".join(out) + "\n"


def _import_sort_key(name: str) -> tuple[int, str]:
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[0].isupper():
        return (1, name)
    return (2, name)


def _import_block(module: str, names: set[str]) -> str:
    ordered = sorted(names, key=_import_sort_key)
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in ordered) + ")"


def _parse_int(d: Any) -> int:
    if isinstance(d, bool):
        raise SpecError(f"bad integer default {d!r}")
    if isinstance(d, int):
        return d
    s = str(d).strip()
    neg = s.startswith("-")
    body = s[1:] if neg else s
    if body.lower().startswith("0x"):
        value = int(body, 16)
    elif len(body) > 1 and body.startswith("0"):
        value = int(body, 8)
    else:
        value = int(body, 10)
    return -value if neg else value


def _int_range(t: str) -> tuple[int, int]:
    bits = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint16": 16, "uint32": 32}[t]
    if t.startswith("u"):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


# -- whole-tree generation --------------------------------------------------------------


@dataclass
class ApiEntry:
    key: int
    name: str
    module: str
    request: TopSpec
    response: TopSpec


def top_spec(kind: str, spec: dict[str, Any], struct: StructSpec) -> TopSpec:
    valid = parse_versions(spec["validVersions"])
    assert valid is not None
    stable_max = valid[1]
    if spec.get("latestVersionUnstable") and valid[1] > valid[0]:
        stable_max = valid[1] - 1
    return TopSpec(
        kind=kind,
        name=spec["name"],
        struct=struct,
        valid=valid,
        stable_max=stable_max,
        flexible=parse_versions(spec.get("flexibleVersions")),
        api_key=spec.get("apiKey"),
    )


def generate(
    specs: dict[str, dict[str, Any]], pin: str
) -> tuple[dict[Path, str], list[ApiEntry], list[str]]:
    """Return {path: source} for every generated file."""
    files: dict[Path, str] = {}
    requests = {s["apiKey"]: s for s in specs.values() if s["type"] == "request"}
    responses = {s["apiKey"]: s for s in specs.values() if s["type"] == "response"}
    if set(requests) != set(responses):
        raise SpecError(f"unpaired API keys: {sorted(set(requests) ^ set(responses))}")
    missing = sorted(
        s["name"].removesuffix("Request")
        for s in requests.values()
        if s["name"].removesuffix("Request") not in ROUTING
    )
    if missing:
        raise SpecError(f"APIs missing from the ROUTING table in {GENERATOR}: {missing}")

    apis: list[ApiEntry] = []
    removed: list[str] = []
    exports: dict[str, str] = {}
    for key in sorted(requests):
        req_spec, resp_spec = requests[key], responses[key]
        api = req_spec["name"].removesuffix("Request")
        if resp_spec["name"] != f"{api}Response":
            raise SpecError(f"API key {key}: {req_spec['name']} paired with {resp_spec['name']}")
        if parse_versions(req_spec["validVersions"]) is None:
            removed.append(f"{key}:{api}")
            continue
        if req_spec["validVersions"] != resp_spec["validVersions"]:
            raise SpecError(f"{api}: request and response valid versions differ")
        module = snake_case(api)
        builder = ModuleBuilder(api)
        builder.assign_names([(req_spec["name"], req_spec), (resp_spec["name"], resp_spec)])
        req_struct = builder.build_top(
            req_spec["name"], req_spec, parse_versions(req_spec.get("flexibleVersions"))
        )
        resp_struct = builder.build_top(
            resp_spec["name"], resp_spec, parse_versions(resp_spec.get("flexibleVersions"))
        )
        req_top = top_spec("request", req_spec, req_struct)
        resp_top = top_spec("response", resp_spec, resp_struct)
        resp_top.stable_max = req_top.stable_max
        gen = ModuleGen(api, [req_top, resp_top])
        doc = f"{api} API (key {key}): request/response messages and their structs."
        files[MESSAGES_DIR / f"{module}.py"] = gen.render(pin, doc)
        apis.append(ApiEntry(key, api, module, req_top, resp_top))
        exports[req_struct.cls] = module
        exports[resp_struct.cls] = module

    for stem, spec in sorted(specs.items()):
        if spec["type"] != "data":
            continue
        name = spec["name"]
        module = snake_case(name)
        builder = ModuleBuilder(name)
        builder.assign_names([(name, spec)])
        struct = builder.build_top(name, spec, parse_versions(spec.get("flexibleVersions")))
        top = top_spec("data", spec, struct)
        gen = ModuleGen(name, [top])
        doc = f"{name}: a versioned data structure from Kafka's message specs (not an API)."
        files[MESSAGES_DIR / f"{module}.py"] = gen.render(pin, doc)
        exports[name] = module
        del stem

    files[MESSAGES_DIR / "__init__.py"] = render_messages_init(pin, exports)
    files[APIS_FILE] = render_apis(pin, apis, removed)
    return files, apis, removed


def render_messages_init(pin: str, exports: dict[str, str]) -> str:
    names = sorted(exports)
    lines = [
        f"# Generated by {GENERATOR} from Apache Kafka {pin} message specs. DO NOT EDIT.",
        '"""Generated Kafka protocol messages, one module per API.',
        "",
        "Top-level classes are importable from here; each module is imported on first use so",
        "that ``import kafkaio`` stays fast. Nested structs live in the API's module, e.g.",
        "``kafkaio.protocol.messages.metadata.MetadataRequestTopic``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:",
    ]
    by_module: dict[str, list[str]] = {}
    for n in names:
        by_module.setdefault(exports[n], []).append(n)
    for module in sorted(by_module):
        items = ", ".join(f"{n} as {n}" for n in sorted(by_module[module]))
        lines.append(f"    from kafkaio.protocol.messages.{module} import {items}")
    lines.append("")
    lines.append("_MODULES: dict[str, str] = {")
    for n in names:
        lines.append(f"    {n!r}: {exports[n]!r},")
    lines.append("}")
    lines.append("")
    lines.append("__all__ = [")
    for n in names:
        lines.append(f"    {n!r},")
    lines.append("]")
    lines.append("")
    lines.append("")
    lines.append("def __getattr__(name: str) -> Any:")
    lines.append("    module = _MODULES.get(name)")
    lines.append("    if module is None:")
    lines.append('        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")')
    lines.append('    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)')
    lines.append("    globals()[name] = value")
    lines.append("    return value")
    lines.append("")
    lines.append("")
    lines.append("def __dir__() -> list[str]:")
    lines.append("    return sorted(set(globals()) | set(__all__))")
    return "\n".join(lines) + "\n"


def render_apis(pin: str, apis: list[ApiEntry], removed: list[str]) -> str:
    lines = [
        f"# Generated by {GENERATOR} from Apache Kafka {pin} message specs. DO NOT EDIT.",
        '"""Static facts about every API key: versions, flexible versions, routing.',
        "",
        "Importing this module does not import any message module; :func:`request_type` and",
        ":func:`response_type` load the API's module on first use.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "",
        "from kafkaio.protocol.api import ApiInfo, Request, Response, RoutingKind",
        "",
        '__all__ = ["API_BY_KEY", "API_BY_NAME", "REMOVED_APIS", "ApiInfo", "request_type", "response_type"]',
        "",
        f'KAFKA_VERSION = "{pin}"',
        '"""The Apache Kafka release these tables were generated from."""',
        "",
        "_R = RoutingKind",
        '_P = "kafkaio.protocol.messages."',
        "",
        "API_BY_KEY: dict[int, ApiInfo] = {",
    ]
    for a in apis:
        flex = a.request.flexible[0] if a.request.flexible else None
        lines.append(
            f"    {a.key}: ApiInfo({a.key}, {a.name!r}, {a.request.valid[0]}, {a.request.stable_max}, "
            f"{flex!r}, _R.{ROUTING[a.name]}, _P + {a.module!r}, {a.request.valid[1]}),"
        )
    lines.append("}")
    lines.append('"""Every API this release defines at least one version of, by key."""')
    lines.append("")
    lines.append(
        "API_BY_NAME: dict[str, ApiInfo] = {info.name: info for info in API_BY_KEY.values()}"
    )
    lines.append('"""The same, by API name (e.g. ``"Metadata"``)."""')
    lines.append("")
    lines.append("REMOVED_APIS: dict[int, str] = {")
    for item in removed:
        key, name = item.split(":")
        lines.append(f"    {key}: {name!r},")
    lines.append("}")
    lines.append(
        '"""API keys whose specs remain upstream with no valid version left (not generated)."""'
    )
    lines.append("")
    lines.append("")
    lines.append("def _info(key: int) -> ApiInfo:")
    lines.append("    info = API_BY_KEY.get(key)")
    lines.append("    if info is None:")
    lines.append('        raise KeyError(f"unknown API key {key!r}")')
    lines.append("    return info")
    lines.append("")
    lines.append("")
    lines.append("def request_type(key: int) -> type[Request]:")
    lines.append('    """The request class of API ``key`` (imports its module on first use)."""')
    lines.append("    info = _info(key)")
    lines.append(
        '    cls: type[Request] = getattr(importlib.import_module(info.module), info.name + "Request")'
    )
    lines.append("    return cls")
    lines.append("")
    lines.append("")
    lines.append("def response_type(key: int) -> type[Response]:")
    lines.append('    """The response class of API ``key`` (imports its module on first use)."""')
    lines.append("    info = _info(key)")
    lines.append(
        '    cls: type[Response] = getattr(importlib.import_module(info.module), info.name + "Response")'
    )
    lines.append("    return cls")
    return "\n".join(lines) + "\n"


# -- formatting, writing, checking ------------------------------------------------------


def ruff_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "ruff"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-m", "ruff"]


def format_source(path: Path, source: str) -> str:
    """Normalise with ruff (import order, then formatting) as if the file were at ``path``."""
    cmd = ruff_cmd()
    fixed = subprocess.run(
        [
            *cmd,
            "check",
            "--select",
            "I",
            "--fix-only",
            "--exit-zero",
            "--quiet",
            "--stdin-filename",
            str(path),
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    return subprocess.run(
        [*cmd, "format", "--quiet", "--stdin-filename", str(path), "-"],
        input=fixed or source,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout


def is_generated(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            return fh.readline().startswith(f"# Generated by {GENERATOR}")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if committed output differs")
    parser.add_argument("--jar", type=Path, help="kafka-clients jar (default: resolve with Maven)")
    args = parser.parse_args(argv)

    pin = kafka_version()
    jar = args.jar or find_clients_jar(pin, download=True)
    assert jar is not None
    specs = load_specs(jar)
    raw_files, apis, removed = generate(specs, pin)
    files = {path: format_source(path, src) for path, src in sorted(raw_files.items())}

    stale = [p for p in sorted(MESSAGES_DIR.glob("*.py")) if p not in files and is_generated(p)]
    changed = [
        p for p, src in files.items() if not p.exists() or p.read_text(encoding="utf-8") != src
    ]

    if args.check:
        if not changed and not stale:
            print(f"protocol: {len(files)} generated files match Kafka {pin} specs")
            return 0
        print(f"protocol: generated code differs from Kafka {pin} specs; run python {GENERATOR}")
        for p in changed:
            rel = p.relative_to(REPO)
            old = p.read_text(encoding="utf-8").splitlines() if p.exists() else []
            diff = list(
                difflib.unified_diff(
                    old, files[p].splitlines(), f"a/{rel}", f"b/{rel}", lineterm="", n=1
                )
            )
            print(f"  changed: {rel} ({sum(1 for d in diff if d[:1] in '+-') - 2} line(s))")
            for line in diff[:12]:
                print(f"    {line}")
        for p in stale:
            print(f"  stale:   {p.relative_to(REPO)}")
        return 1

    MESSAGES_DIR.mkdir(parents=True, exist_ok=True)
    for p in changed:
        p.write_text(files[p], encoding="utf-8")
    for p in stale:
        p.unlink()
    total = sum(len(s.encode()) for s in files.values())
    print(
        f"protocol: {len(apis)} APIs ({len(removed)} removed upstream, skipped), "
        f"{len(files)} files, {total / 1024:.0f} KiB; {len(changed)} written, {len(stale)} removed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
