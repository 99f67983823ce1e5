"""The install history: every use of a connection inside its checkout."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol


class Pool(Protocol):
    """Lends connections and commits (or rolls back) when the block ends, like
    :meth:`cortex.utils.db_pool.SQLiteConnectionPool.get_connection`."""

    def get_connection(self) -> AbstractContextManager[sqlite3.Connection]:
        """Lend one connection for the block."""
        ...


class InstallHistory:
    """Records installs."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def record(self, package: str, version: str) -> int | None:
        """Insert one install and return its id."""
        with self._pool.get_connection() as conn:
            cursor = conn.execute(
                "INSERT INTO installs (package, version) VALUES (?, ?)", (package, version)
            )
            return cursor.lastrowid  # fixes sqlite-use-after-return: read inside the block

    def count(self) -> int:
        """How many installs were recorded."""
        with self._pool.get_connection() as conn:  # fixes sqlite-connect-per-call
            (total,) = conn.execute("SELECT count(*) FROM installs").fetchone()
        return int(total)

    def forget(self, package: str, dry_run: bool) -> int:
        """Delete a package's history; a dry run only counts what would go."""
        with self._pool.get_connection() as conn:  # fixes sqlite-missing-commit
            if dry_run:
                (n,) = conn.execute(
                    "SELECT count(*) FROM installs WHERE package = ?", (package,)
                ).fetchone()
                return int(n)
            return conn.execute("DELETE FROM installs WHERE package = ?", (package,)).rowcount

    def packages(self) -> Iterator[str]:
        """Every package recorded."""
        with self._pool.get_connection() as conn:
            rows = conn.execute("SELECT DISTINCT package FROM installs").fetchall()
        for (name,) in rows:
            yield str(name)
