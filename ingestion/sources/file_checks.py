"""Checks and reshaping shared by the file readers (AWS CUR, Azure exports, OCI reports): all values arrive as text."""

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

    Only non-empty values are kept; a row without any tag gets null.
    """
    if not tag_keys:
        return table.append_column(column, pa.nulls(table.num_rows, pa.string()))
    values_by_key = {key: table[name].to_pylist() for name, key in tag_keys.items()}
    tags: list[str | None] = []
    for row in range(table.num_rows):
        values = {key: values[row] for key, values in values_by_key.items() if values[row] is not None}
        tags.append(json.dumps(values, sort_keys=True) if values else None)
    table = table.drop_columns(list(tag_keys))
    return table.append_column(column, pa.array(tags, pa.string()))
