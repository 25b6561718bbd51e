"""Static checks that a compiled dbt model's SQL is BigQuery SQL, not DuckDB SQL.

sqlglot's BigQuery parser only catches syntax errors: DuckDB-only constructs such as
``x::date``, ``strftime(...)`` or an unknown function parse silently. This module adds
three checks on top of a strict parse:

* ``::`` casts, found on the token stream so string literals and comments are ignored;
* DuckDB-only function names (``DUCKDB_ONLY_FUNCTIONS``), also found on the token stream,
  because sqlglot maps some of them (``len``, ``datediff``, ``try_cast``) to known
  expressions and the original spelling is then lost in the tree;
* functions sqlglot does not know for BigQuery (``exp.Anonymous``) unless allow-listed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.errors import ParseError, SqlglotError

# Genuine BigQuery functions that sqlglot 30.30 parses as ``exp.Anonymous`` (verified).
# Of the usual candidates none is Anonymous: TIMESTAMP_SECONDS (UnixToTime),
# JSON_OBJECT (JSONObject), TO_JSON_STRING (JSONFormat), SAFE_CAST (TryCast),
# PARSE_JSON (ParseJSON), FORMAT_TIMESTAMP (TimeToStr), GENERATE_UUID (Uuid).
# Other real BigQuery functions that are Anonymous and may be added when a model needs
# them: TIMESTAMP_BUCKET, DATE_BUCKET, ST_GEOGPOINT, HLL_COUNT.MERGE, KEYS.NEW_KEYSET,
# AEAD.ENCRYPT (dotted names are matched with their prefix, upper-cased).
ALLOWED_ANONYMOUS: frozenset[str] = frozenset({"ERROR", "IEEE_DIVIDE"})

# Functions that exist in DuckDB but not in BigQuery, matched by their spelling in the SQL
# (upper-cased) when called, i.e. followed by ``(``. Several of them parse as known
# sqlglot expressions with read="bigquery" (LEN -> Length, DATEDIFF -> DateDiff,
# TRY_CAST -> TryCast, COUNT_IF -> CountIf, BOOL_OR -> LogicalOr), so a tree-only check
# would miss them.
DUCKDB_ONLY_FUNCTIONS: frozenset[str] = frozenset(
    {
        "BOOL_AND",
        "BOOL_OR",
        "CONTAINS",
        "COUNT_IF",
        "CURRENT_LOCALTIMESTAMP",
        "DATEDIFF",
        "DATEPART",
        "DATE_PART",
        "EPOCH",
        "EPOCH_MS",
        "EPOCH_NS",
        "EPOCH_US",
        "GEN_RANDOM_UUID",
        "HASH",
        "JSON_EXTRACT_STRING",
        "LEN",
        "LIST_AGGREGATE",
        "LIST_CONCAT",
        "LIST_CONTAINS",
        "LIST_EXTRACT",
        "LIST_FILTER",
        "LIST_HAS",
        "LIST_TRANSFORM",
        "LIST_VALUE",
        "MAKE_DATE",
        "MAKE_TIMESTAMP",
        "NOW",
        "PREFIX",
        "REGEXP_FULL_MATCH",
        "REGEXP_MATCHES",
        "STRFTIME",
        "STRING_SPLIT",
        "STRING_TO_ARRAY",
        "STRPTIME",
        "STRUCT_EXTRACT",
        "STRUCT_PACK",
        "STR_SPLIT",
        "SUFFIX",
        "TIME_BUCKET",
        "TODAY",
        "TO_TIMESTAMP",
        "TRY_CAST",
        "TRY_STRPTIME",
        "UUID",
    }
)

_DIALECT = "bigquery"

_STRING_TOKEN_TYPES: frozenset[TokenType] = frozenset(
    getattr(TokenType, name)
    for name in (
        "STRING",
        "RAW_STRING",
        "BYTE_STRING",
        "NATIONAL_STRING",
        "HEREDOC_STRING",
        "BIT_STRING",
        "HEX_STRING",
        "UNICODE_STRING",
    )
    if hasattr(TokenType, name)
)

# Used only when the tokenizer itself fails: blank out strings and comments, keep newlines.
_NOISE_RE = re.compile(
    r"""'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`[^`]*`|--[^\n]*|\#[^\n]*|/\*.*?\*/""",
    re.DOTALL,
)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def check_bigquery_sql(sql: str, *, allow: frozenset[str] = ALLOWED_ANONYMOUS) -> list[str]:
    """Check compiled dbt SQL for problems that would break it on BigQuery.

    Args:
        sql: The compiled SQL of one model (one or more statements).
        allow: Upper-cased names of functions that sqlglot does not know for BigQuery
            (``exp.Anonymous``) but that are accepted anyway. Dotted names such as
            ``NET.HOST`` are matched with their prefix.

    Returns:
        Human-readable problems, in the order found; an empty list means the SQL passed.
    """
    problems: list[str] = []

    tokens = _tokenize(sql)
    if tokens is None:
        problems.extend(_scan_text_for_dcolon(sql))
    else:
        problems.extend(_check_tokens(tokens))

    try:
        trees = sqlglot.parse(sql, read=_DIALECT, error_level=sqlglot.ErrorLevel.RAISE)
    except SqlglotError as exc:
        problems.insert(0, _describe_parse_error(exc))
        return problems

    for tree in trees:
        if tree is not None:
            problems.extend(_check_anonymous(tree, allow))
    return problems


def _tokenize(sql: str) -> list[Token] | None:
    """Tokenize with the BigQuery tokenizer.

    Args:
        sql: SQL text.

    Returns:
        The tokens, or None when the tokenizer fails (e.g. an unterminated string).
    """
    try:
        return sqlglot.tokenize(sql, read=_DIALECT)
    except SqlglotError:
        return None


def _check_tokens(tokens: Sequence[Token]) -> list[str]:
    """Find ``::`` casts and calls to DuckDB-only functions in a token stream.

    Args:
        tokens: Tokens of the SQL. The tokenizer drops comments and turns string literals
            into string tokens, so ``::`` or a function name inside them is not reported.

    Returns:
        One problem per offending token.
    """
    problems: list[str] = []
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.DCOLON:
            problems.append(f"line {token.line}: '::' cast is DuckDB/Postgres syntax; use CAST(x AS type) in BigQuery")
            continue
        if token.token_type in _STRING_TOKEN_TYPES:
            continue
        name = token.text.upper()
        if name not in DUCKDB_ONLY_FUNCTIONS:
            continue
        is_call = index + 1 < len(tokens) and tokens[index + 1].token_type == TokenType.L_PAREN
        is_qualified = index > 0 and tokens[index - 1].token_type == TokenType.DOT
        if is_call and not is_qualified:
            problems.append(f"line {token.line}: function {name}() is DuckDB-only and does not exist in BigQuery")
    return problems


def _scan_text_for_dcolon(sql: str) -> list[str]:
    """Fallback ``::`` scan on raw text, outside string literals and comments.

    Args:
        sql: SQL text that the tokenizer could not handle.

    Returns:
        One problem per ``::`` found.
    """
    cleaned = _NOISE_RE.sub(lambda match: re.sub(r"[^\n]", " ", match.group(0)), sql)
    problems: list[str] = []
    for line_number, line in enumerate(cleaned.splitlines(), start=1):
        for _ in range(line.count("::")):
            problems.append(f"line {line_number}: '::' cast is DuckDB/Postgres syntax; use CAST(x AS type) in BigQuery")
    return problems


def _check_anonymous(tree: exp.Expr, allow: frozenset[str]) -> list[str]:
    """Report functions sqlglot does not know for BigQuery and that are not allowed.

    Args:
        tree: One parsed statement.
        allow: Upper-cased allowed names.

    Returns:
        One problem per unknown function call.
    """
    problems: list[str] = []
    for node in tree.find_all(exp.Anonymous):
        name = _qualified_name(node).upper()
        if name in allow or name in DUCKDB_ONLY_FUNCTIONS:
            # DuckDB-only names are already reported, more specifically, by the token scan.
            continue
        line = node.meta.get("line")
        where = f"line {line}: " if line is not None else ""
        problems.append(
            f"{where}unknown function {name}(): sqlglot does not know it for BigQuery "
            "(add it to ALLOWED_ANONYMOUS if it is a genuine BigQuery function)"
        )
    return problems


def _qualified_name(node: exp.Anonymous) -> str:
    """Return a function's name with its dotted prefix, e.g. ``HLL_COUNT.MERGE``.

    Args:
        node: An anonymous function node.

    Returns:
        The name as written, prefixed by ``a.b.`` when the call is qualified.
    """
    name = node.name
    parent = node.parent
    if isinstance(parent, exp.Dot) and parent.expression is node:
        return f"{parent.this.sql(dialect=_DIALECT)}.{name}"
    return name


def _describe_parse_error(exc: SqlglotError) -> str:
    """Turn a sqlglot error into one readable line.

    Args:
        exc: The error raised by the tokenizer or parser.

    Returns:
        A problem string that includes sqlglot's message.
    """
    if isinstance(exc, ParseError) and exc.errors:
        details = "; ".join(
            f"line {error.get('line')}, col {error.get('col')}: {error.get('description')}" for error in exc.errors
        )
        return f"parse error (sqlglot, read=bigquery): {details}"
    message = _ANSI_RE.sub("", str(exc))
    return f"parse error (sqlglot, read=bigquery): {message}"
