"""Kernel-adjacent features: shared-memory KV-cache pools and accelerator resource limits.

Drop-ins for upstream Cortex's ``cortex.kernel_features`` modules, each recording its state
in SQLite through the per-file pool (:mod:`cortex.utils.db_pool`), where every block
commits or rolls back. Upstream's pool did neither, so a saved pool or profile was
invisible to every other connection and the next writer failed with "database is locked".

Importing this package does nothing: no database is opened until a class is instantiated.
"""

from __future__ import annotations

__all__ = ["accelerator_limits", "kv_cache_manager"]
