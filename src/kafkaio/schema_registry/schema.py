"""Value types of the Schema Registry API: schemas, references, registered versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SCHEMA_TYPES", "RegisteredSchema", "Schema", "SchemaReference"]

SCHEMA_TYPES = ("AVRO", "JSON", "PROTOBUF")
"""Schema types the registry understands (``AVRO`` is the default when none is given)."""


@dataclass(frozen=True)
class SchemaReference:
    """A schema this schema depends on: ``name`` as the referring schema spells it (an Avro
    full name, a JSON ``$ref`` URL or a ``.proto`` import path), registered under ``subject``
    at ``version``."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SchemaReference:
        return cls(str(data["name"]), str(data["subject"]), int(data["version"]))


@dataclass(frozen=True, init=False)
class Schema:
    """A schema's text, type and references (immutable and hashable, so usable as a key)."""

    schema_str: str
    schema_type: str = "AVRO"
    references: tuple[SchemaReference, ...] = field(default=())

    def __init__(
        self,
        schema_str: str,
        schema_type: str = "AVRO",
        references: Sequence[SchemaReference] = (),
    ) -> None:
        if not isinstance(schema_str, str) or not schema_str:
            raise ValueError(f"schema_str must be a non-empty string, got {schema_str!r}")
        kind = schema_type.upper() if isinstance(schema_type, str) else schema_type
        if kind not in SCHEMA_TYPES:
            raise ValueError(f"schema_type must be one of {SCHEMA_TYPES}, got {schema_type!r}")
        for ref in references:
            if not isinstance(ref, SchemaReference):
                raise TypeError(f"references must be SchemaReference objects, got {ref!r}")
        object.__setattr__(self, "schema_str", schema_str)
        object.__setattr__(self, "schema_type", kind)
        object.__setattr__(self, "references", tuple(references))

    def to_json(self) -> dict[str, Any]:
        """The request body the registry expects when registering or looking up this schema."""
        body: dict[str, Any] = {"schema": self.schema_str}
        if self.schema_type != "AVRO":
            body["schemaType"] = self.schema_type
        if self.references:
            body["references"] = [ref.to_json() for ref in self.references]
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schema:
        return cls(
            str(data["schema"]),
            str(data.get("schemaType") or "AVRO"),
            [SchemaReference.from_json(r) for r in data.get("references") or ()],
        )


@dataclass(frozen=True)
class RegisteredSchema:
    """A schema as registered under a subject: its global id and its version there."""

    schema_id: int
    subject: str
    version: int
    schema: Schema

    @classmethod
    def from_json(cls, data: Mapping[str, Any], subject: str | None = None) -> RegisteredSchema:
        return cls(
            int(data["id"]),
            str(data.get("subject", subject)),
            int(data["version"]),
            Schema.from_json(data),
        )
