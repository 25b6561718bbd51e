"""A small PostgREST-protocol HTTP server for tests, backed by a real Postgres through psycopg.

No PostgREST binary can be installed on the offline build machine, yet the control plane's Supabase implementation
(supabase-py / postgrest-py) must be contract-tested against a server that speaks the PostgREST protocol, verifies
real HS256 JWTs and leaves authorisation to Postgres row-level security. This module is that server. Every request
is authenticated first, then runs in its own transaction that does what PostgREST does::

    SET LOCAL ROLE <the JWT's role claim>;
    SELECT set_config('request.jwt.claims', <claims as JSON>, true), ...;

so RLS policies written for Supabase (``current_setting('request.jwt.claims', true)::json ->> 'org_slug'``) behave
the same here. Row JSON is produced by Postgres itself (``json_agg``), as PostgREST does, so timestamps, numerics,
UUIDs and jsonb come back exactly as PostgREST would send them.

Supported (the subset postgrest-py emits):

* ``/rest/v1/{table}``: GET, HEAD, POST (object or array body, ``columns=``, upserts with ``on_conflict=`` and
  ``Prefer: resolution=merge-duplicates|ignore-duplicates``), PATCH, DELETE (``limit``/``order`` limit the rows
  touched, like PostgREST's limited updates and deletes).
* ``/rest/v1/rpc/{function}``: POST with named JSON arguments (or one unnamed json/jsonb argument), GET/HEAD with
  arguments in the query string (read-only transaction); scalar, set-of-scalar, composite, set-returning and void
  functions; overloads chosen by argument names, defaults honoured.
* ``select=``: ``*``, columns, ``alias:column``, ``column::type`` casts, ``->``/``->>`` JSON paths.
* Filters ``eq neq gt gte lt lte like ilike match imatch is isdistinct in cs cd ov sl sr nxr nxl adj fts plfts phfts
  wfts``, the ``(any)``/``(all)`` modifiers, ``not.``, ``or=``/``and=`` logic trees (nested, negated, quoted values).
* ``order=`` (``asc|desc``, ``nullsfirst|nullslast``), ``limit``, ``offset`` (206/416 with a known count).
* ``Prefer``: ``return=representation|minimal|headers-only``, ``count=exact`` (``planned``/``estimated`` are counted
  exactly), ``resolution``, ``missing=default``, ``handling=strict|lenient``, ``max-affected``.
* ``Accept``: JSON arrays, ``application/vnd.pgrst.object+json`` (406 ``PGRST116`` unless exactly one row; a mutation
  is then rolled back), ``nulls=stripped``; ``Accept-Profile``/``Content-Profile`` must name the exposed schema.
* ``Content-Range``, ``Preference-Applied``, ``Location`` (``return=headers-only``), ``WWW-Authenticate`` and
  ``Proxy-Status`` on errors; PostgREST's SQLSTATE-to-HTTP mapping, ``PTxxx`` and ``RAISE SQLSTATE 'PGRST'``.

Deliberately not implemented:

* Resource embedding, spreads and aggregates in ``select`` (400 ``PGRST127``); PUT upserts (405 ``PGRST117``).
* CSV/XML/binary/plan media types (406/415); the ``Range`` request header.
* ``Prefer: tx`` (ignored, as with PostgREST's default ``db-tx-end=commit``), ``timezone``, ``params=single-object``.
* Requests without a JWT are always refused (401 ``PGRST302``), i.e. no anonymous access; the ``apikey`` header is
  ignored, as PostgREST ignores it (Supabase's gateway checks it).
* OpenAPI at the root, JWKS/asymmetric keys, ``jwt-aud``, ``db-max-rows``, ``db-pre-request``.
* A schema cache: the catalog is read on every request, so migrations applied while the server runs are seen at
  once, with no schema reload.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import jwt
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

logger = logging.getLogger(__name__)

API_PREFIX = "/rest/v1"
# PostgREST tolerates this much clock skew when checking exp/nbf/iat.
JWT_LEEWAY_SECONDS = 30

_JSON = "application/json; charset=utf-8"
_LOGIC_KEYS = {"and": ("AND", False), "or": ("OR", False), "not.and": ("AND", True), "not.or": ("OR", True)}
_COMPARISONS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "LIKE",
    "ilike": "ILIKE",
    "match": "~",
    "imatch": "~*",
    "cs": "@>",
    "cd": "<@",
    "ov": "&&",
    "sl": "<<",
    "sr": ">>",
    "nxr": "&<",
    "nxl": "&>",
    "adj": "-|-",
    "isdistinct": "IS DISTINCT FROM",
}
# Operators that accept PostgREST's (any)/(all) modifiers.
_QUANTIFIABLE = {"eq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"}
_FTS_FUNCTIONS = {
    "fts": "to_tsquery",
    "plfts": "plainto_tsquery",
    "phfts": "phraseto_tsquery",
    "wfts": "websearch_to_tsquery",
}
_IS_VALUES = {
    "null": "IS NULL",
    "not_null": "IS NOT NULL",
    "true": "IS TRUE",
    "false": "IS FALSE",
    "unknown": "IS UNKNOWN",
}
_ARROWS = {"->": sql.SQL("->"), "->>": sql.SQL("->>")}
_GUC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SELECT_ITEM = re.compile(r"^(?:(?P<alias>[^:]+):(?!:))?(?P<field>.+?)(?:::(?P<cast>[^:]+))?$", re.S)
_OPERATION = re.compile(r"^(?P<not>not\.)?(?P<op>[a-z]+)(?:\((?P<mod>[^)]*)\))?\.(?P<value>.*)$", re.S)
_ORDER_TERM = re.compile(r"^(?P<field>.+?)(?:\.(?P<dir>asc|desc))?(?:\.(?P<nulls>nullsfirst|nullslast))?$", re.S)


def make_jwt(secret: str, role: str, **claims: Any) -> str:
    """Sign an HS256 JWT the way Supabase issues them, for a PostgREST-protocol server.

    Args:
        secret: The HS256 secret the server was started with.
        role: The Postgres role the request should run as (the ``role`` claim).
        **claims: Extra claims (e.g. ``org_slug="acme"``); they override the defaults, so ``exp=...`` makes an
            expired token.

    Returns:
        The compact JWT, valid for one hour unless ``exp`` is given.
    """
    now = int(time.time())
    payload: dict[str, Any] = {"role": role, "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


class ApiError(Exception):
    """An error answered in PostgREST's shape: ``{"code", "message", "details", "hint"}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        hint: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    def to_response(self) -> _Response:
        """Render the error as PostgREST does, with its ``Proxy-Status`` header naming the code."""
        body = {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}
        headers = {"Content-Type": _JSON, "Proxy-Status": f"PostgREST; error={self.code}", **self.headers}
        return _Response(self.status, headers, json.dumps(body).encode())


def _parse_error(what: str, text: str, details: str) -> ApiError:
    return ApiError(400, "PGRST100", f'"failed to parse {what} ({text})"', details)


def _not_implemented(details: str) -> ApiError:
    return ApiError(400, "PGRST127", "Feature not implemented", details)


def _invalid_body(message: str = "Empty or invalid json") -> ApiError:
    return ApiError(400, "PGRST102", message)


def _jwt_error(code: str, message: str) -> ApiError:
    challenge = f'Bearer error="invalid_token", error_description={json.dumps(message)}'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""


# ------------------------------------------------------------------------------------------------------------------
# Query-string grammar


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` outside double quotes and parentheses, as PostgREST's list syntax requires."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    in_quotes = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif in_quotes:
            if char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(token: str) -> str:
    """Strip PostgREST double quotes (``"a,b"``), undoing backslash escapes inside them."""
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return re.sub(r"\\(.)", r"\1", token[1:-1], flags=re.S)
    return token


class _Params:
    """Named query parameters, so one value can be referenced twice (the count and the page share the WHERE)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any) -> sql.Placeholder:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return sql.Placeholder(name)


@dataclass(frozen=True)
class _Field:
    """A column, optionally followed by a JSON path (``data->a->>b``)."""

    column: str
    path: tuple[tuple[str, str], ...] = ()

    @property
    def output_name(self) -> str:
        # PostgREST names a JSON-path selection after its last key.
        return _unquote(self.path[-1][1]) if self.path else self.column

    def to_sql(self, qualifier: sql.Identifier, params: _Params) -> sql.Composable:
        expr: sql.Composable = sql.SQL("{}.{}").format(qualifier, sql.Identifier(self.column))
        for arrow, key in self.path:
            if re.fullmatch(r"-?\d+", key):
                key_sql = sql.SQL("{}::int").format(params.add(int(key)))
            else:
                key_sql = sql.SQL("{}::text").format(params.add(_unquote(key)))
            expr = sql.SQL("({} {} {})").format(expr, _ARROWS[arrow], key_sql)
        return expr


def _parse_field(text: str) -> _Field:
    parts = re.split(r"(->>|->)", text.strip())
    column = _unquote(parts[0].strip())
    path = tuple((parts[i], parts[i + 1].strip()) for i in range(1, len(parts), 2))
    if not column or any(not key for _, key in path):
        raise _parse_error("field", text, "expected a column name, optionally followed by ->key or ->>key")
    return _Field(column, path)


@dataclass(frozen=True)
class _SelectItem:
    field: _Field | None  # None is "*"
    alias: str | None = None
    cast: str | None = None


def _parse_select(raw: str | None) -> list[_SelectItem]:
    if raw is None:
        return [_SelectItem(None)]
    items: list[_SelectItem] = []
    for part in _split_top_level(raw):
        part = part.strip()
        if not part:
            continue
        if part == "*":
            items.append(_SelectItem(None))
            continue
        if "(" in part or part.startswith("..."):
            raise _not_implemented(f"'{part}': resource embedding, spreads and aggregates are not supported here")
        match = _SELECT_ITEM.match(part)
        if match is None:
            raise _parse_error("select", raw, f"unexpected select item {part!r}")
        alias = match["alias"].strip() if match["alias"] else None
        cast = match["cast"].strip() if match["cast"] else None
        items.append(_SelectItem(_parse_field(match["field"]), alias, cast))
    return items


@dataclass(frozen=True)
class _Condition:
    """One horizontal filter: ``field=[not.]op[(modifier)].value``."""

    field: _Field
    op: str
    value: str | list[str]
    modifier: str | None = None
    negate: bool = False

    def to_sql(self, qualifier: sql.Identifier, params: _Params) -> sql.Composable:
        target = self.field.to_sql(qualifier, params)
        if self.op == "in":
            assert isinstance(self.value, list)
            if not self.value:
                cond: sql.Composable = sql.SQL("false")
            else:
                values = sql.SQL(", ").join(params.add(v) for v in self.value)
                cond = sql.SQL("{} IN ({})").format(target, values)
        elif self.op == "is":
            cond = sql.SQL("{} {}").format(target, sql.SQL(_IS_VALUES[str(self.value)]))
        elif self.op in _FTS_FUNCTIONS:
            function = sql.SQL(_FTS_FUNCTIONS[self.op])
            if self.modifier:
                query = sql.SQL("{}({}::regconfig, {})").format(
                    function, params.add(self.modifier), params.add(self.value)
                )
            else:
                query = sql.SQL("{}({})").format(function, params.add(self.value))
            cond = sql.SQL("{} @@ {}").format(target, query)
        elif self.modifier:
            quantifier = sql.SQL("ANY" if self.modifier == "any" else "ALL")
            cond = sql.SQL("{} {} {}({})").format(
                target, sql.SQL(_COMPARISONS[self.op]), quantifier, params.add(self.value)
            )
        else:
            cond = sql.SQL("{} {} {}").format(target, sql.SQL(_COMPARISONS[self.op]), params.add(self.value))
        return sql.SQL("NOT ({})").format(cond) if self.negate else cond


@dataclass(frozen=True)
class _Logic:
    """An ``and=(...)`` / ``or=(...)`` tree."""

    conjunction: str
    children: tuple[_Condition | _Logic, ...]
    negate: bool = False

    def to_sql(self, qualifier: sql.Identifier, params: _Params) -> sql.Composable:
        joined = sql.SQL(f" {self.conjunction} ").join(child.to_sql(qualifier, params) for child in self.children)
        return sql.SQL("NOT ({})" if self.negate else "({})").format(joined)


def _parse_condition(field_text: str, expression: str, *, in_logic: bool) -> _Condition:
    match = _OPERATION.match(expression)
    if match is None:
        raise _parse_error("filter", expression, "expected [not.]operator.value")
    op, modifier, value = match["op"], match["mod"], match["value"]
    negate = bool(match["not"])
    target = _parse_field(field_text)
    if op == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise _parse_error("filter", expression, "in. expects a parenthesised list: in.(a,b)")
        inner = value[1:-1]
        items = [_unquote(item) for item in _split_top_level(inner)] if inner else []
        return _Condition(target, op, items, negate=negate)
    if op == "is":
        if value.lower() not in _IS_VALUES:
            raise _parse_error("filter", expression, "is. expects null, not_null, true, false or unknown")
        return _Condition(target, op, value.lower(), negate=negate)
    if in_logic:
        value = _unquote(value)
    if op in _FTS_FUNCTIONS:
        return _Condition(target, op, value, modifier or None, negate)
    if op not in _COMPARISONS:
        raise _parse_error("filter", expression, f"unknown operator {op!r}")
    if modifier is not None and (modifier not in ("any", "all") or op not in _QUANTIFIABLE):
        raise _parse_error("filter", expression, f"unexpected modifier ({modifier}) for {op}")
    if op in ("like", "ilike"):
        # PostgREST accepts * as the LIKE wildcard, since % is awkward in URLs.
        value = value.replace("*", "%")
    return _Condition(target, op, value, modifier, negate)


def _split_field_and_rest(text: str) -> tuple[str, str]:
    """Split ``field.op.value`` at the first dot outside a quoted field name."""
    if text.startswith('"'):
        end = text.find('"', 1)
        while end != -1 and text[end - 1] == "\\":
            end = text.find('"', end + 1)
        if end != -1 and text[end + 1 : end + 2] == ".":
            return text[: end + 1], text[end + 2 :]
    field_text, _, rest = text.partition(".")
    return field_text, rest


def _parse_logic(conjunction: str, value: str, negate: bool) -> _Logic:
    if not (value.startswith("(") and value.endswith(")")) or len(value) < 3:
        raise _parse_error("logic tree", value, "expected a parenthesised, comma-separated list of filters")
    children: list[_Condition | _Logic] = []
    for part in _split_top_level(value[1:-1]):
        part = part.strip()
        negated = part.startswith("not.")
        body = part[4:] if negated else part
        nested = re.match(r"^(and|or)(\(.*\))$", body, re.S)
        if nested:
            children.append(_parse_logic(nested[1].upper(), nested[2], negated))
            continue
        field_text, rest = _split_field_and_rest(part)
        children.append(_parse_condition(field_text, rest, in_logic=True))
    return _Logic(conjunction, tuple(children), negate)


@dataclass(frozen=True)
class _OrderTerm:
    field: _Field
    descending: bool
    nulls: str | None

    def to_sql(self, qualifier: sql.Identifier, params: _Params) -> sql.Composable:
        parts = [self.field.to_sql(qualifier, params), sql.SQL("DESC" if self.descending else "ASC")]
        if self.nulls:
            parts.append(sql.SQL("NULLS FIRST" if self.nulls == "nullsfirst" else "NULLS LAST"))
        return sql.SQL(" ").join(parts)


def _parse_order(raw: str) -> list[_OrderTerm]:
    terms = []
    for part in _split_top_level(raw):
        part = part.strip()
        if "(" in part:
            raise _not_implemented(f"'{part}': ordering by embedded resources is not supported here")
        match = _ORDER_TERM.match(part)
        if not part or match is None:
            raise _parse_error("order", raw, "expected field[.asc|.desc][.nullsfirst|.nullslast]")
        terms.append(_OrderTerm(_parse_field(match["field"]), match["dir"] == "desc", match["nulls"]))
    return terms


def _parse_count(name: str, raw: str) -> int:
    if re.fullmatch(r"-\d+", raw.strip()) and name == "limit":
        raise ApiError(
            416, "PGRST103", "Requested range not satisfiable", "Limit should be greater than or equal to zero."
        )
    if not re.fullmatch(r"\d+", raw.strip()):
        raise _parse_error(name, raw, "expected a non-negative integer")
    return int(raw)


def _parse_identifier_list(raw: str) -> list[str]:
    return [_unquote(item.strip()) for item in _split_top_level(raw) if item.strip()]


@dataclass
class _Query:
    select: list[_SelectItem] = field(default_factory=lambda: [_SelectItem(None)])
    filters: list[_Condition | _Logic] = field(default_factory=list)
    order: list[_OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    columns: list[str] | None = None
    on_conflict: list[str] | None = None


def _parse_query(
    pairs: list[tuple[str, str]], arg_names: frozenset[str] = frozenset()
) -> tuple[_Query, dict[str, str]]:
    """Parse PostgREST's query string; pairs named like a function argument are returned as RPC arguments."""
    query = _Query()
    args: dict[str, str] = {}
    for key, value in pairs:
        if key == "select":
            query.select = _parse_select(value)
        elif key == "order":
            query.order = _parse_order(value)
        elif key in ("limit", "offset"):
            setattr(query, key, _parse_count(key, value))
        elif key == "columns":
            query.columns = _parse_identifier_list(value)
        elif key == "on_conflict":
            query.on_conflict = _parse_identifier_list(value)
        elif key in _LOGIC_KEYS:
            conjunction, negate = _LOGIC_KEYS[key]
            query.filters.append(_parse_logic(conjunction, value, negate))
        elif key in arg_names:
            args[key] = value
        elif "." in key and not key.startswith('"'):
            # Every dotted key (users.or, users.limit, users.name) targets an embedded resource, which never
            # exists here since embedding is not supported.
            resource = key.split(".", 1)[0]
            raise ApiError(
                400,
                "PGRST108",
                f"'{resource}' is not an embedded resource in this request",
                hint=f"Verify that '{resource}' is included in the 'select' query parameter.",
            )
        else:
            query.filters.append(_parse_condition(key, value, in_logic=False))
    return query, args


# ------------------------------------------------------------------------------------------------------------------
# Headers


@dataclass
class _Prefer:
    return_: str = "minimal"
    count: bool = False
    resolution: str | None = None
    missing_default: bool = False
    strict: bool = False
    max_affected: int | None = None
    applied: list[str] = field(default_factory=list)


def _parse_prefer(values: list[str]) -> _Prefer:
    prefer = _Prefer()
    invalid: list[str] = []
    for token in (t.strip() for value in values for t in value.split(",")):
        if not token:
            continue
        key, _, val = (part.strip() for part in token.partition("="))
        if key == "return" and val in ("representation", "minimal", "headers-only"):
            prefer.return_ = val
        elif key == "count" and val in ("exact", "planned", "estimated"):
            # planned/estimated come from EXPLAIN in PostgREST; an exact count is a valid (upper-quality) estimate.
            prefer.count = True
        elif key == "resolution" and val in ("merge-duplicates", "ignore-duplicates"):
            prefer.resolution = val
        elif key == "missing" and val in ("default", "null"):
            prefer.missing_default = val == "default"
        elif key == "handling" and val in ("strict", "lenient"):
            prefer.strict = val == "strict"
        elif key == "max-affected" and re.fullmatch(r"\d+", val):
            prefer.max_affected = int(val)
        else:
            invalid.append(token)
            continue
        prefer.applied.append(f"{key}={val}")
    if prefer.strict and invalid:
        raise ApiError(
            400,
            "PGRST122",
            "Invalid preferences given with handling=strict",
            "Invalid preferences: " + ", ".join(invalid),
        )
    return prefer


@dataclass(frozen=True)
class _Media:
    single: bool = False
    strip_nulls: bool = False

    @property
    def content_type(self) -> str:
        if self.single:
            stripped = "; nulls=stripped" if self.strip_nulls else ""
            return f"application/vnd.pgrst.object+json{stripped}; charset=utf-8"
        if self.strip_nulls:
            return "application/vnd.pgrst.array+json; nulls=stripped; charset=utf-8"
        return _JSON


def _negotiate(accept: str | None) -> _Media:
    if not accept or not accept.strip():
        return _Media()
    offered: list[tuple[float, int, str, dict[str, str]]] = []
    for position, entry in enumerate(accept.split(",")):
        media_type, *raw_params = (piece.strip() for piece in entry.split(";"))
        params = dict(p.partition("=")[::2] for p in raw_params if p)
        try:
            weight = float(params.pop("q", "1"))
        except ValueError:
            weight = 1.0
        offered.append((-weight, position, media_type.lower(), params))
    for _, _, media_type, params in sorted(offered):
        stripped = params.get("nulls") == "stripped"
        if media_type in ("application/json", "*/*", "application/*"):
            return _Media()
        if media_type == "application/vnd.pgrst.array+json":
            return _Media(strip_nulls=stripped)
        if media_type == "application/vnd.pgrst.object+json":
            return _Media(single=True, strip_nulls=stripped)
    raise ApiError(406, "PGRST107", "None of these media types are available: " + accept)


# ------------------------------------------------------------------------------------------------------------------
# Catalog


@dataclass(frozen=True)
class _Relation:
    schema: str
    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]

    @property
    def qualified(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def alias(self) -> sql.Identifier:
        # Aliasing the relation by its bare name gives the error messages PostgREST gives ("column items.x ...").
        return sql.Identifier(self.name)


@dataclass(frozen=True)
class _Routine:
    schema: str
    name: str
    returns_set: bool
    returns_rows: bool
    returns_void: bool
    defaults: int
    arg_names: tuple[str, ...]
    arg_types: tuple[str, ...]


_RELATION_SQL = """
SELECT a.attname,
       (SELECT coalesce(array_agg(k.attname::text ORDER BY array_position(i.indkey::int2[], k.attnum)), '{}')
          FROM pg_index i
          JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = ANY (i.indkey)
         WHERE i.indrelid = c.oid AND i.indisprimary)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = %(schema)s AND c.relname = %(name)s AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
 ORDER BY a.attnum
"""

_ROUTINE_SQL = """
SELECT p.proretset,
       -- Rows (JSON objects) for composites, records with OUT columns and RETURNS TABLE, even of one column.
       coalesce(t.typtype = 'c'
                OR (p.prorettype = 'record'::regtype AND p.proargmodes && ARRAY['o', 't', 'b']::"char"[])
                OR p.proargmodes && ARRAY['t']::"char"[], false),
       p.prorettype = 'void'::regtype,
       p.pronargdefaults,
       coalesce(args.names, '{}'),
       coalesce(args.types, '{}')
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_type t ON t.oid = p.prorettype
  LEFT JOIN LATERAL (
        SELECT array_agg(coalesce(x.name, '') ORDER BY x.ord) AS names,
               array_agg(format_type(x.type, NULL) ORDER BY x.ord) AS types
          FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                      coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs::int])),
                      p.proargnames) WITH ORDINALITY AS x(type, mode, name, ord)
         WHERE x.mode IN ('i', 'b', 'v')) args ON true
 WHERE n.nspname = %(schema)s AND p.proname = %(name)s AND p.prokind = 'f'
"""


# ------------------------------------------------------------------------------------------------------------------
# SQLSTATE -> HTTP status, as PostgREST's Error.hs maps them


def _status_for_sqlstate(code: str, message: str, authed: bool) -> int:
    exact = {
        "23503": 409,
        "23505": 409,
        "25006": 405,
        "53400": 500,
        "57P01": 503,
        "P0001": 400,
        "42883": 404,
        "42P01": 404,
        "42P17": 500,
    }
    if code == "42501":
        return 403 if authed else 401
    if code == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if code == "22023":
        # A role claim naming a role that does not exist is an authentication failure (PostgREST issue #3601).
        return 401 if message.startswith("role") and message.endswith("does not exist") else 400
    if code in exact:
        return exact[code]
    if code.startswith("PT") and code[2:].isdigit():
        return int(code[2:])
    prefixes = {
        "08": 503,
        "09": 500,
        "0L": 403,
        "0P": 403,
        "25": 500,
        "28": 403,
        "2D": 500,
        "38": 500,
        "39": 500,
        "3B": 500,
        "40": 500,
        "53": 503,
        "54": 500,
        "55": 500,
        "57": 500,
        "58": 500,
        "F0": 500,
        "HV": 500,
        "P0": 500,
        "XX": 500,
    }
    return prefixes.get(code[:2], 400)


def _database_error(error: psycopg.Error, authed: bool) -> ApiError:
    code = error.sqlstate
    if code is None and isinstance(error, psycopg.OperationalError):
        return ApiError(503, "PGRST001", "Database client error. Retrying the connection.", str(error))
    if code is None:
        # A client-side psycopg error is a bug in this server, not a database condition.
        logger.error("psycopg client error: %s", error)
        return ApiError(500, "PGRSTX00", "Internal server error", str(error))
    diag = error.diag
    message = diag.message_primary or str(error)
    details, hint = diag.message_detail, diag.message_hint
    if code == "PGRST":
        # RAISE SQLSTATE 'PGRST' gives full control of the response, as in PostgREST.
        try:
            body, extra = json.loads(message), json.loads(details or "")
            return ApiError(
                int(extra["status"]),
                str(body["code"]),
                str(body["message"]),
                body.get("details"),
                body.get("hint"),
                {str(k): str(v) for k, v in (extra.get("headers") or {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return ApiError(500, "PGRST121", "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error", message)
    status = _status_for_sqlstate(code, message, authed)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return ApiError(status, code, message, details, hint, headers)


# ------------------------------------------------------------------------------------------------------------------
# Database connections


class _ConnectionPool:
    """A minimal LIFO pool: PostgREST keeps connections open, and all per-request state is transaction-local."""

    def __init__(self, dsn: str, max_idle: int = 8) -> None:
        self._dsn = dsn
        self._max_idle = max_idle
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = psycopg.connect(self._dsn, autocommit=True)
            except psycopg.OperationalError as exc:
                raise ApiError(
                    503, "PGRST000", "Database connection error. Retrying the connection.", str(exc)
                ) from exc
        try:
            yield conn
        finally:
            reusable = not conn.closed and not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE
            with self._lock:
                if reusable and not self._closed and len(self._idle) < self._max_idle:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def open(self) -> None:
        with self._lock:
            self._closed = False

    def close(self) -> None:
        # Connections still out with in-flight requests are closed, not pooled, when they come back.
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


# ------------------------------------------------------------------------------------------------------------------
# The application


@dataclass
class _Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    authed: bool = False

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


@dataclass(frozen=True)
class _Source:
    """What a read selects from: a table, or a function call, under an alias used to qualify columns."""

    from_clause: sql.Composable
    alias: sql.Identifier


class _App:
    """Turns one HTTP request into one Postgres transaction, the PostgREST way."""

    def __init__(self, dsn: str, jwt_secret: str, schema: str, anon_role: str | None) -> None:
        self.schema = schema
        self._secret = jwt_secret
        self._anon_role = anon_role
        self._pool = _ConnectionPool(dsn)

    def check_database(self) -> None:
        self._pool.open()
        with self._pool.connection() as conn:
            conn.execute("SELECT 1")

    def close(self) -> None:
        self._pool.close()

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> _Response:
        """Answer one request; never raises."""
        parts = urlsplit(target)
        request = _Request(method, parts.path, parse_qsl(parts.query, keep_blank_values=True), headers, body)
        try:
            return self._dispatch(request)
        except ApiError as exc:
            return exc.to_response()
        except psycopg.Error as exc:
            return _database_error(exc, request.authed).to_response()
        except Exception:
            # Only the traceback, method and path are logged: never headers, so never the JWT.
            logger.exception("internal error answering %s %s", method, parts.path)
            return ApiError(500, "PGRSTX00", "Internal server error").to_response()

    # -- request pipeline

    def _dispatch(self, request: _Request) -> _Response:
        prefix = API_PREFIX + "/"
        if not request.path.startswith(prefix):
            raise ApiError(404, "PGRST125", "Invalid path specified in request URL")
        segments = [unquote(segment) for segment in request.path[len(prefix) :].split("/")]
        if len(segments) == 2 and segments[0] == "rpc" and segments[1]:
            kind, name = "rpc", segments[1]
        elif len(segments) == 1 and segments[0]:
            kind, name = "table", segments[0]
        else:
            raise ApiError(404, "PGRST125", "Invalid path specified in request URL")

        if kind == "rpc" and request.method not in ("GET", "HEAD", "POST"):
            raise ApiError(405, "PGRST101", f"Cannot use the {request.method} method on RPC")
        if kind == "table" and request.method not in ("GET", "HEAD", "POST", "PATCH", "DELETE"):
            raise ApiError(405, "PGRST117", f"Unsupported HTTP method: {request.method}")

        claims, role = self._authenticate(request)
        self._check_profile(request)
        prefer = _parse_prefer(request.header_values("prefer"))
        media = _negotiate(request.header("accept"))
        if kind == "rpc":
            return self._rpc(request, name, claims, role, prefer, media)
        return self._table(request, name, claims, role, prefer, media)

    def _authenticate(self, request: _Request) -> tuple[dict[str, Any], str]:
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            # PostgREST treats a request without a bearer token as anonymous; with no anon role, that is refused.
            raise ApiError(401, "PGRST302", "Anonymous access is disabled", headers={"WWW-Authenticate": "Bearer"})
        token = token.strip()
        if not token:
            raise _jwt_error("PGRST301", "Empty JWT is sent in Authorization header")
        if token.count(".") != 2:
            raise _jwt_error("PGRST301", f"Expected 3 parts in JWT; got {token.count('.') + 1}")
        try:
            # pyjwt checks only the signature; the time claims are checked below exactly as PostgREST's Auth.hs
            # does (30 s skew, non-numeric values ignored, aud never checked since no jwt-aud is configured).
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidAlgorithmError:
            raise _jwt_error("PGRST301", "Wrong or unsupported encoding algorithm") from None
        except jwt.InvalidSignatureError:
            raise _jwt_error("PGRST301", "No suitable key or wrong key type") from None
        except jwt.DecodeError as exc:
            if "payload" in str(exc).lower():
                raise _jwt_error("PGRST303", "Parsing claims failed") from None
            raise _jwt_error("PGRST301", "JWT cryptographic operation failed") from None
        except jwt.InvalidTokenError:
            raise _jwt_error("PGRST301", "JWT couldn't be decoded") from None
        if not isinstance(claims, dict):
            raise _jwt_error("PGRST303", "Parsing claims failed")
        now = int(time.time())

        def number(claim: str) -> int | None:
            value = claims.get(claim)
            return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

        exp, nbf, iat = number("exp"), number("nbf"), number("iat")
        if exp is not None and now > exp + JWT_LEEWAY_SECONDS:
            raise _jwt_error("PGRST303", "JWT expired")
        if nbf is not None and now < nbf - JWT_LEEWAY_SECONDS:
            raise _jwt_error("PGRST303", "JWT not yet valid")
        if iat is not None and now < iat - JWT_LEEWAY_SECONDS:
            raise _jwt_error("PGRST303", "JWT issued at future")

        role_claim = claims.get("role")
        if role_claim is None:
            if self._anon_role is None:
                raise ApiError(401, "PGRST302", "Anonymous access is disabled", headers={"WWW-Authenticate": "Bearer"})
            role = self._anon_role
        else:
            # PostgREST uses a non-string role claim's JSON text as the role name (and then fails to find it).
            role = role_claim if isinstance(role_claim, str) else json.dumps(role_claim)
        # PostgREST exposes the effective role in request.jwt.claims, also when it came from the anon default.
        claims = {**claims, "role": role}
        request.authed = role != self._anon_role
        return claims, role

    def _check_profile(self, request: _Request) -> None:
        name = "accept-profile" if request.method in ("GET", "HEAD") else "content-profile"
        profile = request.header(name)
        if profile and profile != self.schema:
            raise ApiError(
                406,
                "PGRST106",
                f"Invalid schema: {profile}",
                hint=f"Only the following schemas are exposed: {self.schema}",
            )

    def _json_body(self, request: _Request, *, empty: Any = None) -> tuple[str, Any]:
        """The body as raw text (handed to Postgres verbatim, so numerics keep their precision) and parsed."""
        content_type = (request.header("content-type") or "application/json").split(";")[0].strip().lower()
        if content_type not in ("application/json", "application/vnd.pgrst.object+json", ""):
            raise ApiError(415, "PGRST107", f"Content-Type not acceptable: {content_type}")
        try:
            raw = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid_body() from None
        if not raw.strip():
            if empty is None:
                raise _invalid_body()
            return json.dumps(empty), empty
        try:
            return raw, json.loads(raw)
        except ValueError:
            raise _invalid_body() from None

    @contextmanager
    def _transaction(self, *, read_only: bool) -> Iterator[psycopg.Cursor]:
        """One transaction per request: committed when the block ends, rolled back if it raises."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if read_only:
                cur.execute("SET TRANSACTION READ ONLY")
            yield cur

    def _assume_role(self, cur: psycopg.Cursor, request: _Request, claims: dict[str, Any], role: str) -> None:
        """Set the request GUCs and switch role, transaction-locally, as PostgREST does before the main query."""
        search_path = ", ".join(sql.Identifier(s).as_string(cur) for s in dict.fromkeys([self.schema, "public"]))
        settings: list[tuple[str, str]] = [
            ("search_path", search_path),
            ("request.jwt.claims", json.dumps(claims)),
            ("request.method", request.method),
            ("request.path", request.path),
            ("request.headers", json.dumps({key.lower(): value for key, value in request.headers})),
        ]
        # The pre-v10 per-claim settings, which older policies still read (request.jwt.claim.role and friends).
        for key, value in claims.items():
            if _GUC_NAME.fullmatch(key):
                settings.append((f"request.jwt.claim.{key}", value if isinstance(value, str) else json.dumps(value)))
        params = _Params()
        calls = sql.SQL(", ").join(
            sql.SQL("set_config({}, {}, true)").format(params.add(name), params.add(value)) for name, value in settings
        )
        cur.execute(sql.SQL("SELECT {}").format(calls), params.values)
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))

    def _relation(self, cur: psycopg.Cursor, name: str) -> _Relation:
        rows = cur.execute(_RELATION_SQL, {"schema": self.schema, "name": name}).fetchall()
        if not rows:
            raise ApiError(404, "PGRST205", f"Could not find the table '{self.schema}.{name}' in the schema cache")
        columns = tuple(row[0] for row in rows if row[0] is not None)
        return _Relation(self.schema, name, columns, tuple(rows[0][1]))

    def _routines(self, cur: psycopg.Cursor, name: str) -> list[_Routine]:
        rows = cur.execute(_ROUTINE_SQL, {"schema": self.schema, "name": name}).fetchall()
        return [
            _Routine(self.schema, name, bool(r[0]), bool(r[1]), bool(r[2]), int(r[3]), tuple(r[4]), tuple(r[5]))
            for r in rows
        ]

    def _resolve_casts(self, cur: psycopg.Cursor, items: list[_SelectItem]) -> dict[str, sql.Composable]:
        """Map each requested cast to the catalog's canonical type name, so request text never becomes SQL."""
        resolved: dict[str, sql.Composable] = {}
        for item in items:
            if item.cast and item.cast not in resolved:
                row = cur.execute("SELECT format_type(to_regtype(%s), NULL)", [item.cast]).fetchone()
                if row is None or row[0] is None:
                    raise ApiError(400, "42704", f'type "{item.cast}" does not exist')
                resolved[item.cast] = sql.SQL(row[0])
        return resolved

    # -- SQL building

    @staticmethod
    def _select_list(
        items: list[_SelectItem], alias: sql.Identifier, casts: dict[str, sql.Composable], params: _Params
    ) -> sql.Composable:
        parts: list[sql.Composable] = []
        for item in items:
            if item.field is None:
                parts.append(sql.SQL("{}.*").format(alias))
                continue
            expr = item.field.to_sql(alias, params)
            if item.cast:
                expr = sql.SQL("{}::{}").format(expr, casts[item.cast])
            parts.append(sql.SQL("{} AS {}").format(expr, sql.Identifier(item.alias or item.field.output_name)))
        return sql.SQL(", ").join(parts)

    @staticmethod
    def _where(filters: list[_Condition | _Logic], alias: sql.Identifier, params: _Params) -> sql.Composable:
        if not filters:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(f.to_sql(alias, params) for f in filters)

    @staticmethod
    def _page(query: _Query, alias: sql.Identifier, params: _Params) -> sql.Composable:
        parts: list[sql.Composable] = []
        if query.order:
            parts.append(sql.SQL(" ORDER BY ") + sql.SQL(", ").join(t.to_sql(alias, params) for t in query.order))
        if query.limit is not None:
            parts.append(sql.SQL(" LIMIT {}").format(params.add(query.limit)))
        if query.offset is not None:
            parts.append(sql.SQL(" OFFSET {}").format(params.add(query.offset)))
        return sql.Composed(parts)

    @staticmethod
    def _aggregate(media: _Media) -> sql.Composable:
        row = sql.SQL("json_strip_nulls(to_json(_pgrst_t))" if media.strip_nulls else "_pgrst_t")
        if media.single:
            return sql.SQL("(json_agg({}) -> 0)::text").format(row)
        return sql.SQL("coalesce(json_agg({}), '[]')::text").format(row)

    # -- reads

    def _read(
        self,
        cur: psycopg.Cursor,
        source: _Source,
        query: _Query,
        casts: dict[str, sql.Composable],
        prefer: _Prefer,
        media: _Media,
        *,
        single_row_function: bool = False,
        params: _Params | None = None,
    ) -> _Response:
        # A function source already holds a placeholder (its arguments), so it passes its parameters in.
        params = params or _Params()
        where = self._where(query.filters, source.alias, params)
        columns = self._select_list(query.select, source.alias, casts, params)
        page = self._page(query, source.alias, params)
        total = (
            sql.SQL("(SELECT pg_catalog.count(*) FROM {}{})").format(source.from_clause, where)
            if prefer.count
            else sql.SQL("NULL::bigint")
        )
        shape = _Media(single=True, strip_nulls=media.strip_nulls) if single_row_function else media
        statement = sql.SQL("SELECT {}, pg_catalog.count(*), {} FROM (SELECT {} FROM {}{}{}) AS _pgrst_t").format(
            total, self._aggregate(shape), columns, source.from_clause, where, page
        )
        row = cur.execute(statement, params.values).fetchone()
        assert row is not None
        total_rows, returned, body = row
        if media.single and returned != 1:
            raise _singular_error(returned)

        lower = query.offset or 0
        status = 200
        if total_rows is not None:
            if lower > total_rows:
                raise ApiError(
                    416,
                    "PGRST103",
                    "Requested range not satisfiable",
                    f"An offset of {lower} was requested, but there are only {total_rows} rows.",
                )
            if returned < total_rows:
                status = 206
        headers = {
            "Content-Type": shape.content_type,
            "Content-Range": _content_range(lower, returned, total_rows),
        }
        if prefer.count:
            headers["Preference-Applied"] = "count=exact"
        return _Response(status, headers, (body or "null").encode())

    # -- tables

    def _table(
        self, request: _Request, name: str, claims: dict[str, Any], role: str, prefer: _Prefer, media: _Media
    ) -> _Response:
        query, _ = _parse_query(request.query)
        method = request.method
        body = self._json_body(request) if method in ("POST", "PATCH") else None
        read_only = method in ("GET", "HEAD")
        with self._transaction(read_only=read_only) as cur:
            relation = self._relation(cur, name)
            casts = self._resolve_casts(cur, query.select)
            self._assume_role(cur, request, claims, role)
            if read_only:
                source = _Source(sql.SQL("{} AS {}").format(relation.qualified, relation.alias), relation.alias)
                return self._read(cur, source, query, casts, prefer, media)
            if method == "POST":
                assert body is not None
                return self._insert(cur, relation, query, casts, prefer, media, *body)
            if method == "PATCH":
                assert body is not None
                return self._update(cur, relation, query, casts, prefer, media, *body)
            return self._delete(cur, relation, query, casts, prefer, media)

    @staticmethod
    def _check_columns(relation: _Relation, columns: list[str]) -> None:
        for column in columns:
            if column not in relation.columns:
                raise ApiError(
                    400, "PGRST204", f"Could not find the '{column}' column of '{relation.name}' in the schema cache"
                )

    def _insert(
        self,
        cur: psycopg.Cursor,
        relation: _Relation,
        query: _Query,
        casts: dict[str, sql.Composable],
        prefer: _Prefer,
        media: _Media,
        raw: str,
        value: Any,
    ) -> _Response:
        if isinstance(value, dict):
            rows, array_text = [value], f"[{raw}]"
        elif isinstance(value, list) and all(isinstance(row, dict) for row in value):
            rows, array_text = value, raw
        else:
            raise _invalid_body()
        if query.columns is not None:
            columns = query.columns
        else:
            columns = list(rows[0]) if rows else []
            if any(set(row) != set(columns) for row in rows):
                raise _invalid_body("All object keys must match")
        self._check_columns(relation, columns)

        params = _Params()
        table, alias = relation.qualified, relation.alias
        target = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        body = params.add(array_text)
        if prefer.missing_default and columns:
            # DEFAULT is only allowed directly in VALUES, so each row becomes one VALUES tuple.
            tuples = []
            for index, row in enumerate(rows):
                cells = [
                    sql.SQL("(json_populate_record(NULL::{}, {}::json -> {})).{}").format(
                        table, body, params.add(index), sql.Identifier(c)
                    )
                    if c in row
                    else sql.SQL("DEFAULT")
                    for c in columns
                ]
                tuples.append(sql.SQL("({})").format(sql.SQL(", ").join(cells)))
            if not tuples:
                return self._mutation_result(cur, relation, None, params, query, casts, prefer, media, "POST")
            statement = sql.SQL("INSERT INTO {} AS {} ({}) VALUES {}").format(
                table, alias, target, sql.SQL(", ").join(tuples)
            )
        elif columns:
            selected = sql.SQL(", ").join(sql.SQL("_pgrst_body.{}").format(sql.Identifier(c)) for c in columns)
            statement = sql.SQL(
                "INSERT INTO {} AS {} ({}) SELECT {} FROM json_populate_recordset(NULL::{}, {}::json) AS _pgrst_body"
            ).format(table, alias, target, selected, table, body)
        else:
            # No columns at all: every row takes all its defaults.
            statement = sql.SQL("INSERT INTO {} AS {} SELECT FROM json_array_elements({}::json)").format(
                table, alias, body
            )

        if prefer.resolution:
            conflict = query.on_conflict or list(relation.primary_key)
            conflict_sql = sql.SQL(", ").join(sql.Identifier(c) for c in conflict)
            if prefer.resolution == "ignore-duplicates" or not columns:
                if conflict:
                    statement += sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(conflict_sql)
                else:
                    statement += sql.SQL(" ON CONFLICT DO NOTHING")
            elif conflict:
                updates = sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns
                )
                statement += sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(conflict_sql, updates)
        return self._mutation_result(cur, relation, statement, params, query, casts, prefer, media, "POST")

    def _row_filter(self, relation: _Relation, query: _Query, params: _Params) -> sql.Composable:
        """The WHERE of an UPDATE/DELETE; with limit/offset, a ctid sub-select as PostgREST's limited updates."""
        alias = relation.alias
        where = self._where(query.filters, alias, params)
        if query.limit is None and query.offset is None:
            return where
        page = self._page(query, alias, params)
        return sql.SQL(" WHERE {}.ctid = ANY (ARRAY(SELECT {}.ctid FROM {} AS {}{}{}))").format(
            alias, alias, relation.qualified, alias, where, page
        )

    def _update(
        self,
        cur: psycopg.Cursor,
        relation: _Relation,
        query: _Query,
        casts: dict[str, sql.Composable],
        prefer: _Prefer,
        media: _Media,
        raw: str,
        value: Any,
    ) -> _Response:
        if not isinstance(value, dict):
            raise _invalid_body()
        columns = [c for c in value if query.columns is None or c in query.columns]
        self._check_columns(relation, columns)
        params = _Params()
        if not columns:
            # PostgREST answers an empty PATCH without touching any row.
            return self._mutation_result(cur, relation, None, params, query, casts, prefer, media, "PATCH")
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = _pgrst_body.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in columns
        )
        statement = sql.SQL(
            "UPDATE {} AS {} SET {} FROM (SELECT * FROM json_populate_record(NULL::{}, {}::json)) AS _pgrst_body{}"
        ).format(
            relation.qualified,
            relation.alias,
            assignments,
            relation.qualified,
            params.add(raw),
            self._row_filter(relation, query, params),
        )
        return self._mutation_result(cur, relation, statement, params, query, casts, prefer, media, "PATCH")

    def _delete(
        self,
        cur: psycopg.Cursor,
        relation: _Relation,
        query: _Query,
        casts: dict[str, sql.Composable],
        prefer: _Prefer,
        media: _Media,
    ) -> _Response:
        params = _Params()
        statement = sql.SQL("DELETE FROM {} AS {}{}").format(
            relation.qualified, relation.alias, self._row_filter(relation, query, params)
        )
        return self._mutation_result(cur, relation, statement, params, query, casts, prefer, media, "DELETE")

    def _mutation_result(
        self,
        cur: psycopg.Cursor,
        relation: _Relation,
        statement: sql.Composable | None,
        params: _Params,
        query: _Query,
        casts: dict[str, sql.Composable],
        prefer: _Prefer,
        media: _Media,
        method: str,
    ) -> _Response:
        alias = relation.alias
        shape = media
        columns: sql.Composable | None = None
        if prefer.return_ == "representation":
            columns = self._select_list(query.select, alias, casts, params)
        elif prefer.return_ == "headers-only" and method == "POST" and relation.primary_key:
            columns = sql.SQL(", ").join(
                sql.SQL("{}.{}").format(alias, sql.Identifier(c)) for c in relation.primary_key
            )
            shape = _Media()

        body: str | None = None
        if statement is None:
            affected, body = 0, "[]"
        elif columns is None:
            # No RETURNING: with return=minimal, rows the role may insert but not select are fine, as in PostgREST.
            cur.execute(statement, params.values)
            affected = max(cur.rowcount, 0)
        else:
            wrapped = sql.SQL(
                "WITH pgrst_source AS ({} RETURNING {}.*) "
                "SELECT pg_catalog.count(*), {} FROM (SELECT {} FROM pgrst_source AS {}) AS _pgrst_t"
            ).format(statement, alias, self._aggregate(shape), columns, alias)
            row = cur.execute(wrapped, params.values).fetchone()
            assert row is not None
            affected, body = row

        # Both checks raise inside the transaction, so the write is rolled back, as PostgREST does.
        if media.single and affected != 1:
            raise _singular_error(affected)
        if prefer.strict and prefer.max_affected is not None and affected > prefer.max_affected:
            raise ApiError(
                400,
                "PGRST124",
                "Query result exceeds max-affected preference constraint",
                f"The query affects {affected} rows",
            )

        total = affected if prefer.count else None
        headers: dict[str, str] = {}
        if method == "POST":
            headers["Content-Range"] = f"*/{'*' if total is None else total}"
        else:
            headers["Content-Range"] = _content_range(0, affected, total)
        if prefer.applied:
            headers["Preference-Applied"] = ", ".join(prefer.applied)
        if prefer.return_ == "headers-only" and method == "POST" and body:
            headers.update(_location(relation, body))
        if prefer.return_ == "representation":
            headers["Content-Type"] = media.content_type
            return _Response(201 if method == "POST" else 200, headers, (body or "[]").encode())
        return _Response(201 if method == "POST" else 204, headers)

    # -- functions

    def _rpc(
        self, request: _Request, name: str, claims: dict[str, Any], role: str, prefer: _Prefer, media: _Media
    ) -> _Response:
        is_post = request.method == "POST"
        raw, value = self._json_body(request, empty={}) if is_post else ("{}", {})
        with self._transaction(read_only=not is_post) as cur:
            candidates = self._routines(cur, name)
            arg_names = frozenset(n for r in candidates for n in r.arg_names if n)
            query, query_args = _parse_query(request.query, arg_names if not is_post else frozenset())
            if not is_post:
                raw, value = json.dumps(query_args), query_args
            routine, whole_body = _pick_routine(self.schema, name, candidates, value, is_post)
            casts = self._resolve_casts(cur, query.select)
            self._assume_role(cur, request, claims, role)

            params = _Params()
            body = params.add(raw)
            function = sql.Identifier(routine.schema, routine.name)
            args_from: sql.Composable | None = None
            if whole_body:
                call = sql.SQL("{}({}::{})").format(function, body, sql.SQL(routine.arg_types[0]))
            elif value:
                given = [(n, t) for n, t in zip(routine.arg_names, routine.arg_types, strict=True) if n in value]
                definitions = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in given
                )
                args_from = sql.SQL("json_to_record({}::json) AS _pgrst_args({})").format(body, definitions)
                named = sql.SQL(", ").join(
                    sql.SQL("{} := _pgrst_args.{}").format(sql.Identifier(n), sql.Identifier(n)) for n, _ in given
                )
                call = sql.SQL("{}({})").format(function, named)
            else:
                call = sql.SQL("{}()").format(function)

            def relation_of(alias: sql.Identifier) -> sql.Composable:
                if args_from is None:
                    return sql.SQL("{} AS {}").format(call, alias)
                return sql.SQL("{} CROSS JOIN LATERAL {} AS {}").format(args_from, call, alias)

            if routine.returns_rows:
                alias = sql.Identifier(routine.name)
                source = _Source(relation_of(alias), alias)
                single = not routine.returns_set
                return self._read(cur, source, query, casts, prefer, media, single_row_function=single, params=params)

            from_args = sql.SQL(" FROM {}").format(args_from) if args_from is not None else sql.SQL("")
            if routine.returns_void:
                cur.execute(sql.SQL("SELECT {}{}").format(call, from_args), params.values)
                return _Response(204, {})
            if routine.returns_set:
                statement = sql.SQL("SELECT coalesce(json_agg(_pgrst_v), '[]')::text FROM {}").format(
                    relation_of(sql.Identifier("_pgrst_v"))
                )
            else:
                statement = sql.SQL("SELECT to_json({})::text{}").format(call, from_args)
            row = cur.execute(statement, params.values).fetchone()
            assert row is not None
            return _Response(200, {"Content-Type": _JSON}, (row[0] or "null").encode())


def _pick_routine(
    schema: str, name: str, candidates: list[_Routine], args: Any, is_post: bool
) -> tuple[_Routine, bool]:
    """Choose the overload PostgREST would: by argument names, or one unnamed json/jsonb argument for the body."""
    keys = set(args) if isinstance(args, dict) else set()
    matches: list[tuple[_Routine, bool]] = []
    for routine in candidates:
        names = routine.arg_names
        if is_post and len(names) == 1 and not names[0] and routine.arg_types[0] in ("json", "jsonb"):
            matches.append((routine, True))
        elif isinstance(args, dict) and all(names) and keys <= set(names):
            required = set(names[: len(names) - routine.defaults])
            if required <= keys:
                matches.append((routine, False))
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(sorted(keys))
    if not matches:
        signature = f"({listed})" if keys else " without parameters"
        raise ApiError(
            404,
            "PGRST202",
            f"Could not find the function {schema}.{name}{signature} in the schema cache",
            f"Searched for the function {schema}.{name}"
            + (f" with parameters {listed}" if keys else " without parameters")
            + ", but no matches were found in the schema cache.",
        )
    raise ApiError(
        300,
        "PGRST203",
        f"Could not choose the best candidate function between: {schema}.{name}",
        hint="Try renaming the parameters or the function itself in the database so function overloading can be "
        "resolved",
    )


def _singular_error(rows: int) -> ApiError:
    return ApiError(
        406, "PGRST116", "Cannot coerce the result to a single JSON object", f"The result contains {rows} rows"
    )


def _content_range(lower: int, returned: int, total: int | None) -> str:
    total_text = "*" if total is None else str(total)
    if returned == 0:
        return f"*/{total_text}"
    return f"{lower}-{lower + returned - 1}/{total_text}"


def _location(relation: _Relation, body: str) -> dict[str, str]:
    rows = json.loads(body)
    if not rows or not isinstance(rows, list):
        return {}
    first = rows[0]
    filters = "&".join(
        f"{quote(key, safe='')}=eq.{quote(str(first[key]), safe='')}" for key in relation.primary_key if key in first
    )
    return {"Location": f"/{quote(relation.name, safe='')}?{filters}"}


# ------------------------------------------------------------------------------------------------------------------
# HTTP


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a client pool opens many at once.
    request_queue_size = 128

    def __init__(self, app: _App) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()

    def track(self, sock: socket.socket, open_: bool) -> None:
        with self._sockets_lock:
            if open_:
                self._sockets.add(sock)
            else:
                self._sockets.discard(sock)

    def close_client_connections(self) -> None:
        """Wake keep-alive handler threads blocked on idle client sockets, so they exit promptly."""
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    server_version = "postgrest-test-server"
    timeout = 60  # idle keep-alive connections are dropped after this
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PATCH = do_DELETE = do_PUT = do_OPTIONS = do_GET

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            response = ApiError(400, "PGRST102", "Could not read the request body").to_response()
        else:
            response = self.server.app.handle(self.command, self.path, list(self.headers.items()), body)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status not in (204, 304):
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD" and response.body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        # Only the request line and status reach the log; headers (and so the JWT) never do.
        logger.debug("%s %s", self.address_string(), format % args)


class PostgrestServer:
    """A PostgREST-protocol server on 127.0.0.1 (a random free port), backed by the Postgres at ``dsn``.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. supabase-py is given :attr:`url` as its
    ``supabase_url`` and reaches the tables at ``{url}/rest/v1/<table>``.

    Attributes:
        url: ``http://127.0.0.1:PORT`` once started (empty before).
    """

    def __init__(self, dsn: str, jwt_secret: str, schema: str = "public", *, anon_role: str | None = "anon") -> None:
        """Configure the server; nothing is started until :meth:`start`.

        Args:
            dsn: A libpq connection string for a role that may ``SET ROLE`` to every role the JWTs name (usually a
                superuser, as PostgREST's authenticator role is a member of them all).
            jwt_secret: The HS256 secret JWTs must be signed with.
            schema: The single exposed schema (PostgREST's ``db-schemas``).
            anon_role: The role for a valid JWT without a ``role`` claim, also the role whose permission errors are
                401 rather than 403. Requests without any JWT are always refused with 401.
        """
        self._app = _App(dsn, jwt_secret, schema, anon_role)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> PostgrestServer:
        """Check the database is reachable, then serve in a background thread.

        Returns:
            The server itself, for chaining.
        """
        if self._httpd is not None:
            return self
        self._app.check_database()
        httpd = _HttpServer(self._app)
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="postgrest-test-server", daemon=True
        )
        self._thread.start()
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}"
        logger.info("PostgREST-protocol test server on %s (schema %s)", self.url, self._app.schema)
        return self

    def stop(self) -> None:
        """Stop serving, drop open client connections and close the database connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.close_client_connections()
            httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            logger.info("PostgREST-protocol test server on %s stopped", self.url)
        self._app.close()

    def __enter__(self) -> PostgrestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


__all__ = ["API_PREFIX", "ApiError", "PostgrestServer", "make_jwt"]
