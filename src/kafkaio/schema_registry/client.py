"""An asyncio client for the Confluent Schema Registry REST API.

The same API is served by Confluent Schema Registry, Karapace, Redpanda and Apicurio
Registry's ``/apis/ccompat/v7`` endpoint. ::

    async with SchemaRegistryClient("http://localhost:8081") as registry:
        schema_id = await registry.register_schema("orders-value", Schema(avro_text))
        schema = await registry.get_schema(schema_id)

Schemas by id, ids by (subject, schema) and concrete subject versions are cached in bounded
LRU maps: a schema id never changes its schema, so those answers stay true (deletes drop the
affected entries). ``latest`` answers are never cached.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from kafkaio.schema_registry.cache import LruCache
from kafkaio.schema_registry.errors import (
    SchemaRegistryConnectionError,
    SchemaRegistryError,
    error_for,
)
from kafkaio.schema_registry.schema import RegisteredSchema, Schema

__all__ = ["COMPATIBILITY_LEVELS", "CompatibilityResult", "SchemaRegistryClient"]

log = logging.getLogger("kafkaio.schema_registry")

COMPATIBILITY_LEVELS = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
"""Compatibility levels accepted by :meth:`SchemaRegistryClient.set_compatibility`."""

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_SUBJECT_SOFT_DELETED = 40404

Version = int | str
"""A subject version: a positive int, or ``"latest"``."""


@dataclass(frozen=True)
class CompatibilityResult:
    """Outcome of a compatibility check; ``messages`` explain an incompatibility (if the
    registry gave any)."""

    is_compatible: bool
    messages: tuple[str, ...] = ()


def _check_subject(subject: object) -> str:
    if not isinstance(subject, str) or not subject:
        raise ValueError(f"subject must be a non-empty string, got {subject!r}")
    return subject


def _check_schema(schema: object) -> Schema:
    if not isinstance(schema, Schema):
        raise TypeError(f"schema must be a kafkaio.schema_registry.Schema, got {schema!r}")
    return schema


def _check_version(version: object) -> str:
    if isinstance(version, bool):
        raise ValueError(f"version must be a positive int or 'latest', got {version!r}")
    if isinstance(version, int) and (version >= 1 or version == -1):
        return str(version)
    if version == "latest":
        return "latest"
    raise ValueError(f"version must be a positive int or 'latest', got {version!r}")


def _check_level(level: object) -> str:
    if not isinstance(level, str) or level.upper() not in COMPATIBILITY_LEVELS:
        raise ValueError(
            f"compatibility level must be one of {COMPATIBILITY_LEVELS}, got {level!r}"
        )
    return level.upper()


def _segment(value: str) -> str:
    # Subjects may contain '/', ':' and spaces; each must stay one path segment.
    return quote(value, safe="")


def _config_path(subject: str | None) -> str:
    return "/config" if subject is None else f"/config/{_segment(_check_subject(subject))}"


def _split_url(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without userinfo, and the credentials it carried (if any)."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"schema registry url must be a non-empty string, got {url!r}")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"schema registry url must be http:// or https:// with a host, got {parts.scheme}://"
            f"{parts.hostname or ''}{parts.path}"
        )
    creds = None
    netloc = parts.hostname
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if parts.username is not None:
        creds = (unquote(parts.username), unquote(parts.password or ""))
    clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return clean, creds


class SchemaRegistryClient:
    """Talks to one Schema Registry (several URLs of the same registry fail over in order).

    :param url: ``http(s)://host:port[/prefix]`` or a list of them; credentials in the URL
        (``https://user:secret@host``) are used for basic auth and removed from the URL.
    :param basic_auth: ``(user, password)`` or ``"user:password"``; never logged.
    :param ssl_context: a ready :class:`ssl.SSLContext` for ``https`` URLs; otherwise one is
        built from ``ca_location`` (CA bundle to trust), ``cert_location``/``key_location``
        (client certificate for mutual TLS) and ``key_password``. ``verify=False`` disables
        server verification (tests only).
    :param timeout_s: per-request timeout in seconds.
    :param cache_capacity: entries in each cache (ids, lookups, versions).
    :param headers: extra HTTP headers sent with every request.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        basic_auth: tuple[str, str] | str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        ca_location: str | None = None,
        cert_location: str | None = None,
        key_location: str | None = None,
        key_password: str | None = None,
        verify: bool = True,
        timeout_s: float = 30.0,
        cache_capacity: int = 1000,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        if not urls:
            raise ValueError("schema registry url must name at least one URL, got none")
        self._urls: list[str] = []
        url_creds: tuple[str, str] | None = None
        for u in urls:
            clean, creds = _split_url(u)
            self._urls.append(clean)
            url_creds = url_creds or creds
        creds = self._parse_basic_auth(basic_auth) or url_creds
        if not isinstance(timeout_s, int | float) or isinstance(timeout_s, bool) or timeout_s <= 0:
            raise ValueError(f"timeout_s must be a positive number, got {timeout_s!r}")
        if key_location is not None and cert_location is None:
            raise ValueError("key_location needs cert_location (the client certificate)")
        verify_arg: ssl.SSLContext | bool = verify
        if ssl_context is not None:
            verify_arg = ssl_context
        elif ca_location is not None or cert_location is not None:
            ctx = ssl.create_default_context(cafile=ca_location)
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if cert_location is not None:
                ctx.load_cert_chain(cert_location, key_location, key_password)
            verify_arg = ctx
        all_headers = {"Accept": _CONTENT_TYPE, "Content-Type": _CONTENT_TYPE}
        all_headers.update(headers or {})
        self._http = httpx.AsyncClient(
            auth=httpx.BasicAuth(*creds) if creds else None,
            verify=verify_arg,
            timeout=timeout_s,
            headers=all_headers,
        )
        self._has_auth = creds is not None
        self._ids: LruCache[tuple[int, str | None], Schema] = LruCache(cache_capacity)
        self._lookups: LruCache[tuple[str, Schema, bool], RegisteredSchema] = LruCache(
            cache_capacity
        )
        self._registered: LruCache[tuple[str, Schema, bool], int] = LruCache(cache_capacity)
        self._versions: LruCache[tuple[str, int, str | None], RegisteredSchema] = LruCache(
            cache_capacity
        )
        self._id_fetches: dict[tuple[int, str | None], asyncio.Future[Schema]] = {}

    @staticmethod
    def _parse_basic_auth(value: tuple[str, str] | str | None) -> tuple[str, str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            user, sep, password = value.partition(":")
            if not sep or not user:
                raise ValueError("basic_auth must be 'user:password' (the value is not shown)")
            return user, password
        if (
            isinstance(value, tuple)
            and len(value) == 2
            and all(isinstance(v, str) for v in value)
            and value[0]
        ):
            return value[0], value[1]
        raise ValueError("basic_auth must be (user, password) strings (the value is not shown)")

    def __repr__(self) -> str:
        auth = ", basic_auth=***" if self._has_auth else ""
        return f"SchemaRegistryClient({self._urls!r}{auth})"

    @property
    def urls(self) -> list[str]:
        """The registry URLs, without credentials."""
        return list(self._urls)

    async def __aenter__(self) -> SchemaRegistryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP connections (the client cannot be used afterwards)."""
        await self._http.aclose()

    def clear_caches(self) -> None:
        """Forget every cached answer."""
        for cache in (self._ids, self._lookups, self._registered, self._versions):
            cache.clear()

    # ------------------------------------------------------------------------------ transport

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        last_error: Exception | None = None
        for base in self._urls:
            try:
                response = await self._http.request(method, base + path, json=body, params=params)
            except httpx.TransportError as exc:
                log.warning("schema registry %s unreachable (%s): %s", base, method, exc)
                last_error = exc
                continue
            log.debug("%s %s -> %d", method, path, response.status_code)
            if response.status_code >= 400:
                raise self._error(response)
            if not response.content:
                return None
            return response.json()
        raise SchemaRegistryConnectionError(
            f"no schema registry reachable at {self._urls}: {last_error}"
        ) from last_error

    @staticmethod
    def _error(response: httpx.Response) -> SchemaRegistryError:
        code, message = -1, response.text.strip() or response.reason_phrase
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, Mapping):
            raw_code = data.get("error_code", data.get("errorCode", -1))
            code = raw_code if isinstance(raw_code, int) else -1
            message = str(data.get("message", message))
        if response.status_code == 401:
            # The registry's text, never the credentials we sent.
            message = f"unauthorized (check basic_auth): {message}"
        return error_for(response.status_code, code, message)

    # ------------------------------------------------------------------------------ schemas

    async def register_schema(
        self, subject: str, schema: Schema, *, normalize: bool = False
    ) -> int:
        """Register ``schema`` under ``subject`` (a no-op if it is already there); its id."""
        _check_subject(subject)
        _check_schema(schema)
        key = (subject, schema, normalize)
        cached = self._registered.get(key)
        if cached is not None:
            return cached
        params = {"normalize": "true"} if normalize else None
        data = await self._request(
            "POST", f"/subjects/{_segment(subject)}/versions", body=schema.to_json(), params=params
        )
        schema_id = int(data["id"])
        self._registered.put(key, schema_id)
        if self._ids.get((schema_id, None)) is None:
            self._ids.put((schema_id, None), schema)
        log.debug("registered schema id %d under subject %r", schema_id, subject)
        return schema_id

    async def get_schema(
        self, schema_id: int, *, subject: str | None = None, fmt: str | None = None
    ) -> Schema:
        """The schema with this global id (concurrent callers share one request).

        ``fmt`` asks for another rendering where the registry supports it (Confluent:
        ``"serialized"`` gives a Protobuf schema as a base64 ``FileDescriptorProto``).
        """
        if isinstance(schema_id, bool) or not isinstance(schema_id, int) or schema_id < 0:
            raise ValueError(f"schema_id must be a non-negative int, got {schema_id!r}")
        key = (schema_id, fmt)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        task = self._id_fetches.get(key)
        if task is None:
            # One request per id however many callers wait; it runs as its own task so a
            # cancelled caller does not cancel it for the others.
            task = asyncio.ensure_future(self._fetch_schema(schema_id, subject, fmt))
            self._id_fetches[key] = task
            task.add_done_callback(lambda done: self._fetch_done(key, done))
        return await asyncio.shield(task)

    def _fetch_done(self, key: tuple[int, str | None], task: asyncio.Future[Schema]) -> None:
        self._id_fetches.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have gone away meanwhile

    async def _fetch_schema(self, schema_id: int, subject: str | None, fmt: str | None) -> Schema:
        params = {}
        if subject:
            params["subject"] = subject
        if fmt:
            params["format"] = fmt
        data = await self._request("GET", f"/schemas/ids/{schema_id}", params=params or None)
        schema = Schema.from_json(data)
        self._ids.put((schema_id, fmt), schema)
        return schema

    async def get_subjects_for_id(self, schema_id: int) -> list[str]:
        """The subjects under which the schema with this id is registered."""
        data = await self._request("GET", f"/schemas/ids/{int(schema_id)}/subjects")
        return [str(s) for s in data]

    async def lookup_schema(
        self, subject: str, schema: Schema, *, normalize: bool = False, deleted: bool = False
    ) -> RegisteredSchema:
        """The registered version of ``schema`` under ``subject``.

        Raises :class:`SubjectNotFoundError` or :class:`SchemaNotFoundError` if it is not there.
        """
        _check_subject(subject)
        _check_schema(schema)
        key = (subject, schema, normalize)
        cached = self._lookups.get(key)
        if cached is not None:
            return cached
        params = {}
        if normalize:
            params["normalize"] = "true"
        if deleted:
            params["deleted"] = "true"
        data = await self._request(
            "POST", f"/subjects/{_segment(subject)}", body=schema.to_json(), params=params or None
        )
        # Lookups may answer without "references"/"schemaType"; the caller's schema is the truth.
        found = RegisteredSchema(int(data["id"]), subject, int(data["version"]), schema)
        self._lookups.put(key, found)
        self._registered.put(key, found.schema_id)
        return found

    # ------------------------------------------------------------------------------ subjects

    async def get_subjects(self, *, deleted: bool = False, prefix: str | None = None) -> list[str]:
        """Every subject (``deleted=True`` includes soft-deleted ones)."""
        params = {}
        if deleted:
            params["deleted"] = "true"
        if prefix:
            params["subjectPrefix"] = prefix
        data = await self._request("GET", "/subjects", params=params or None)
        return [str(s) for s in data]

    async def get_versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        """The versions registered under ``subject``, oldest first."""
        _check_subject(subject)
        params = {"deleted": "true"} if deleted else None
        data = await self._request("GET", f"/subjects/{_segment(subject)}/versions", params=params)
        return sorted(int(v) for v in data)

    async def get_version(
        self, subject: str, version: Version, *, deleted: bool = False, fmt: str | None = None
    ) -> RegisteredSchema:
        """``subject``'s schema at ``version`` (an int, or ``"latest"``); ``fmt`` as in
        :meth:`get_schema`."""
        _check_subject(subject)
        text = _check_version(version)
        concrete = isinstance(version, int) and version > 0
        if concrete and not deleted:
            cached = self._versions.get((subject, int(version), fmt))
            if cached is not None:
                return cached
        params = {}
        if deleted:
            params["deleted"] = "true"
        if fmt:
            params["format"] = fmt
        data = await self._request(
            "GET", f"/subjects/{_segment(subject)}/versions/{text}", params=params or None
        )
        found = RegisteredSchema.from_json(data, subject)
        if concrete:
            self._versions.put((subject, found.version, fmt), found)
        if self._ids.get((found.schema_id, fmt)) is None:
            self._ids.put((found.schema_id, fmt), found.schema)
        return found

    async def get_latest_version(self, subject: str) -> RegisteredSchema:
        """``subject``'s newest schema (never cached)."""
        return await self.get_version(subject, "latest")

    async def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Delete every version of ``subject``; the versions deleted.

        A permanent delete needs a soft delete first (the registry's rule); with
        ``permanent=True`` this does both (skipping the soft delete of an already soft-deleted
        subject) and returns every version removed, soft-deleted ones included.
        """
        _check_subject(subject)
        path = f"/subjects/{_segment(subject)}"
        try:
            data = await self._request("DELETE", path)
        except SchemaRegistryError as exc:
            if not (permanent and exc.error_code == _SUBJECT_SOFT_DELETED):
                raise
        if permanent:
            data = await self._request("DELETE", path, params={"permanent": "true"})
        self._forget_subject(subject)
        return sorted(int(v) for v in data)

    async def delete_version(
        self, subject: str, version: Version, *, permanent: bool = False
    ) -> int:
        """Delete one version of ``subject``; the version deleted (soft, then hard if
        ``permanent``)."""
        _check_subject(subject)
        text = _check_version(version)
        path = f"/subjects/{_segment(subject)}/versions/{text}"
        data = await self._request("DELETE", path)
        if permanent:
            data = await self._request(
                "DELETE",
                f"/subjects/{_segment(subject)}/versions/{int(data)}",
                params={"permanent": "true"},
            )
        self._forget_subject(subject)
        return int(data)

    def _forget_subject(self, subject: str) -> None:
        self._versions.discard_where(lambda key: key[0] != subject)
        self._lookups.discard_where(lambda key: key[0] != subject)
        self._registered.discard_where(lambda key: key[0] != subject)

    # ------------------------------------------------------------------------ compatibility

    async def check_compatibility(
        self, subject: str, schema: Schema, version: Version = "latest"
    ) -> CompatibilityResult:
        """Whether ``schema`` may be registered next to ``subject``'s ``version``, and why not."""
        _check_subject(subject)
        _check_schema(schema)
        text = _check_version(version)
        data = await self._request(
            "POST",
            f"/compatibility/subjects/{_segment(subject)}/versions/{text}",
            body=schema.to_json(),
            params={"verbose": "true"},
        )
        messages = tuple(str(m) for m in (data.get("messages") or ()))
        return CompatibilityResult(bool(data["is_compatible"]), messages)

    async def test_compatibility(
        self, subject: str, schema: Schema, version: Version = "latest"
    ) -> bool:
        """Whether ``schema`` is compatible with ``subject``'s ``version``."""
        return (await self.check_compatibility(subject, schema, version)).is_compatible

    async def get_compatibility(
        self, subject: str | None = None, *, default_to_global: bool = False
    ) -> str:
        """The compatibility level of ``subject`` (or the global one when ``subject`` is None).

        A subject without its own level raises :class:`SchemaRegistryError` unless
        ``default_to_global`` is set.
        """
        path = _config_path(subject)
        params = {"defaultToGlobal": "true"} if default_to_global and subject else None
        data = await self._request("GET", path, params=params)
        return str(data.get("compatibilityLevel") or data.get("compatibility"))

    async def set_compatibility(self, level: str, subject: str | None = None) -> str:
        """Set the compatibility level of ``subject`` (or the global one); the level now set."""
        body = {"compatibility": _check_level(level)}
        path = _config_path(subject)
        data = await self._request("PUT", path, body=body)
        return str(data.get("compatibility") or data.get("compatibilityLevel"))

    async def delete_compatibility(self, subject: str) -> None:
        """Remove ``subject``'s own level so the global one applies again."""
        await self._request("DELETE", f"/config/{_segment(_check_subject(subject))}")
