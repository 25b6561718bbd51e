"""Checks and reshaping shared by the file readers (AWS CUR, Azure exports, OCI reports): values become text."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def first_row(mask: Any) -> int:
    """1-based line number in the file (header is line 1) of the first true value."""
    index = pc.index(mask, True).as_py()
    return int(index) + 2


def check_pattern(
    table: pa.Table, file_name: str, columns: tuple[str, ...], pattern: str, expected: str, error: type[Exception]
) -> None:
    """Raise ``error`` naming the file, line and column of the first value of ``columns`` not matching ``pattern``."""
    for column in columns:
        if column not in table.column_names:
            continue
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(table[column], pattern), True))
        if pc.any(bad).as_py():
            row = first_row(bad)
            value = table[column][row - 2].as_py()
            raise error(f"{file_name}: row {row}: column '{column}' expected {expected}, got {value!r}")


def collapse_tags(table: pa.Table, tag_keys: dict[str, str], column: str) -> pa.Table:
    """Fold one-column-per-tag columns (``{column name: tag key}``) into one flat JSON object column ``column``.

    Null values are left out; a row without any tag gets null. The text is ``json.dumps(tags, sort_keys=True)``'s,
    built column-wise: each distinct value of a tag column is encoded once (tag values repeat), then the fragments
    of a row are joined by Arrow, skipping nulls (about 10x a per-row loop).
    """
    if not tag_keys:
        return table.append_column(column, pa.nulls(table.num_rows, pa.string()))
    by_key = {key: name for name, key in tag_keys.items()}  # a key named twice: the last column wins, as in a dict
    fragments = []
    for key in sorted(by_key):
        encoded = pc.dictionary_encode(table[by_key[key]].combine_chunks().cast(pa.string()))
        prefix = json.dumps(key) + ": "
        texts = pa.array([prefix + json.dumps(value) + ", " for value in encoded.dictionary.to_pylist()], pa.string())
        fragments.append(pc.fill_null(pc.take(texts, encoded.indices), ""))  # each fragment carries its separator
    joined = pc.binary_join_element_wise(*fragments, "")
    body = pc.utf8_slice_codeunits(joined, 0, -2)  # the last fragment's ", "
    wrapped = pc.binary_join_element_wise("{", body, "}", "")
    tags = pc.if_else(pc.equal(joined, ""), pa.scalar(None, pa.string()), wrapped)
    table = table.drop_columns(list(tag_keys))
    return table.append_column(column, tags)


def keys_not_null(table: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    """The table with its merge-key fields declared non-nullable, as dlt declares merge keys (the caller has checked
    they hold no null): dlt then has no differing hint to warn about at every batch."""
    fields = [field.with_nullable(False) if field.name in keys else field for field in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def timestamp_text(column: Any) -> Any:
    """A timestamp column as ISO UTC text (``2025-01-01T00:00:00Z``, with the unit's fraction: ``00:00:00.000Z``).

    Same text as ``strftime('%Y-%m-%dT%H:%M:%SZ')``, 3-10x faster: the values are taken as naive UTC (a zoned column is
    cast to the same instants without a zone, no per-value zone lookup) and Arrow's own text is re-punctuated.
    """
    kind = column.type
    naive = column.cast(pa.timestamp(kind.unit)) if kind.tz is not None else column
    text = pc.replace_substring(naive.cast(pa.string()), " ", "T", max_replacements=1)
    return pc.binary_join_element_wise(text, pa.scalar("Z"), "")
