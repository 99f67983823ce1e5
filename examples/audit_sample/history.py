"""The install history: SQLite through a connection pool."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol


class Pool(Protocol):
    """Anything that lends connections: ``with pool.get_connection() as conn:``."""

    def get_connection(self) -> AbstractContextManager[sqlite3.Connection]:
        """Lend one connection for the block."""
        ...


class InstallHistory:
    """Records installs; upstream's mistakes kept in."""

    def __init__(self, pool: Pool, db_path: str) -> None:
        self._pool = pool
        self.db_path = db_path

    def record(self, package: str, version: str) -> int | None:
        """Insert one install and return its id."""
        with self._pool.get_connection() as conn:
            cursor = conn.cursor()
            cursor.execute(
                "INSERT INTO installs (package, version) VALUES (?, ?)", (package, version)
            )
        return cursor.lastrowid  # the connection is back in the pool: another thread's now

    def count(self) -> int:
        """How many installs were recorded."""
        conn = sqlite3.connect(self.db_path)  # a new connection on every call
        try:
            (total,) = conn.execute("SELECT count(*) FROM installs").fetchone()
        finally:
            conn.close()
        return int(total)

    def forget(self, package: str, dry_run: bool) -> None:
        """Delete a package's history (committed only when not a dry run)."""
        conn = sqlite3.connect(self.db_path)
        conn.execute("DELETE FROM installs WHERE package = ?", (package,))
        if not dry_run:
            conn.commit()
        conn.close()

    def packages(self) -> Iterator[str]:
        """Every package recorded."""
        with self._pool.get_connection() as conn:
            rows = conn.execute("SELECT DISTINCT package FROM installs").fetchall()
        for (name,) in rows:
            yield str(name)
