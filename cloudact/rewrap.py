"""Key rotation for envelope-encrypted rows: move every row's wrapped data key to the keyring's primary KEK."""

from __future__ import annotations

from cloudact.keyring import Envelope, Keyring, rewrap
from cloudact.warehouse import Warehouse


def rewrap_rows(warehouse: Warehouse, keyring: Keyring, table: str, key_columns: tuple[str, ...]) -> int:
    """Re-wrap the data keys of a shared table's rows not yet under the primary KEK; returns how many moved.

    The ciphertexts stay as they are (the data key does not change), so nothing can be lost half-way.

    Args:
        warehouse: The warehouse.
        keyring: The keyring (its primary KEK is the target).
        table: A shared table with ``kek_id, wrapped_key, nonce, ciphertext`` columns.
        key_columns: The columns that identify a row (``org_slug`` first).
    """
    qualified = warehouse.shared_table(table)
    keys = ", ".join(key_columns)
    match = " and ".join(f"{column} = @{column}" for column in key_columns)
    moved = 0
    with warehouse.transaction() as sql:
        rows = sql.query(
            f"""select {keys}, kek_id, wrapped_key, nonce, ciphertext from {qualified}
                where kek_id is not null and kek_id <> @primary""",
            {"primary": keyring.primary_key_id()},
        )
        for row in rows:
            envelope = rewrap(keyring, Envelope.from_dict(row))
            sql.execute(
                f"update {qualified} set kek_id = @kek_id, wrapped_key = @wrapped_key where {match}",
                {**row, "kek_id": envelope.kek_id, "wrapped_key": envelope.to_dict()["wrapped_key"]},
            )
            moved += 1
    return moved
