"""JSON Schema serializer and deserializer in the Confluent wire format (needs ``jsonschema``).

The payload is UTF-8 JSON. Objects are validated against the schema before they are written
and after they are read (``validate=False`` turns that off). ``$ref`` s to other registered
schemas are given as :class:`SchemaReference` s whose ``name`` is the URL used in ``$ref``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from jsonschema import validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from kafkaio.schema_registry.client import SchemaRegistryClient
from kafkaio.schema_registry.errors import SerializationError
from kafkaio.schema_registry.schema import Schema
from kafkaio.schema_registry.serde import (
    Decoder,
    Deserializer,
    Encoder,
    Serializer,
    resolve_references,
)
from kafkaio.schema_registry.strategies import SubjectNameStrategy, topic_subject_name_strategy

__all__ = ["JsonDeserializer", "JsonSerializer"]

JsonSchemaLike = str | Mapping[str, Any] | Schema


def _as_schema(schema: JsonSchemaLike) -> Schema:
    if isinstance(schema, Schema):
        if schema.schema_type != "JSON":
            raise ValueError(
                f"a JSON Schema serializer needs a JSON schema, got {schema.schema_type}"
            )
        return schema
    if isinstance(schema, str):
        return Schema(schema, "JSON")
    if isinstance(schema, Mapping):
        return Schema(json.dumps(schema, separators=(",", ":")), "JSON")
    raise TypeError(f"schema must be JSON Schema text, a dict or a Schema, got {schema!r}")


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from exc


async def _validator(client: SchemaRegistryClient, schema: Schema) -> Validator:
    root = _load(schema.schema_str, "JSON schema")
    resources = []
    for name, ref_schema in await resolve_references(client, schema):
        contents = _load(ref_schema.schema_str, f"referenced JSON schema {name!r}")
        resources.append((name, Resource.from_contents(contents, default_specification=DRAFT7)))
    registry: Registry[Any] = Registry().with_resources(resources)
    cls = validators.validator_for(root, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(root)
    except jsonschema.SchemaError as exc:
        raise SerializationError(f"invalid JSON schema: {exc.message}") from exc
    validator: Validator = cls(root, registry=registry)
    return validator


def _validate(validator: Validator, obj: Any) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise SerializationError(f"JSON Schema validation failed at {where}: {error.message}")


class JsonSerializer(Serializer[Validator]):
    """Writes objects as JSON after validating them against a JSON Schema.

    :param schema: the JSON Schema as text, a dict or a :class:`Schema` (for references);
        may be None with ``use_latest_version=True``.
    :param to_dict: turns an application object into JSON-able data; default: as is.
    :param validate: validate before writing (default True).

    The record name (for record subject strategies) is the schema's ``title``.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        schema: JsonSchemaLike | None,
        *,
        to_dict: Callable[[Any], Any] | None = None,
        validate: bool = True,
        auto_register_schemas: bool = True,
        use_latest_version: bool = False,
        normalize_schemas: bool = False,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        own = None if schema is None else _as_schema(schema)
        super().__init__(
            client,
            own,
            auto_register_schemas=auto_register_schemas,
            use_latest_version=use_latest_version,
            normalize_schemas=normalize_schemas,
            subject_name_strategy=subject_name_strategy,
        )
        self._title: str | None = None
        if own is not None:
            parsed = _load(own.schema_str, "JSON schema")
            if isinstance(parsed, dict) and isinstance(parsed.get("title"), str):
                self._title = parsed["title"]
        if to_dict is not None and not callable(to_dict):
            raise TypeError(f"to_dict must be callable, got {to_dict!r}")
        self._to_dict = to_dict
        self._validate = validate

    def record_name(self) -> str | None:
        return self._title

    async def _prepare(self, schema: Schema) -> Validator:
        return await _validator(self._client, schema)

    def _encoder(self, writer: Validator) -> Encoder:
        to_dict = self._to_dict
        check = self._validate

        def encode(obj: Any) -> bytes:
            value = to_dict(obj) if to_dict else obj
            if check:
                _validate(writer, value)
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

        return encode


class JsonDeserializer(Deserializer[Validator]):
    """Reads JSON written with any JSON schema id, validating it (``validate=True``).

    :param from_dict: turns the decoded JSON into an application object.
    """

    def __init__(
        self,
        client: SchemaRegistryClient,
        *,
        from_dict: Callable[[Any], Any] | None = None,
        validate: bool = True,
        subject_name_strategy: SubjectNameStrategy = topic_subject_name_strategy,
    ) -> None:
        super().__init__(client, subject_name_strategy=subject_name_strategy)
        if from_dict is not None and not callable(from_dict):
            raise TypeError(f"from_dict must be callable, got {from_dict!r}")
        self._from_dict = from_dict
        self._validate = validate

    def _check_type(self, schema: Schema, schema_id: int) -> None:
        if schema.schema_type != "JSON":
            raise SerializationError(
                f"schema id {schema_id} is a {schema.schema_type} schema, not JSON"
            )

    async def _prepare(self, schema: Schema) -> Validator:
        return await _validator(self._client, schema)

    def _decoder(self, reader: Validator) -> Decoder:
        from_dict = self._from_dict
        check = self._validate

        def decode(data: bytes, offset: int) -> Any:
            try:
                value = json.loads(bytes(memoryview(data)[offset:]))
            except ValueError as exc:
                raise SerializationError(f"payload is not valid JSON: {exc}") from exc
            if check:
                _validate(reader, value)
            return from_dict(value) if from_dict else value

        return decode
