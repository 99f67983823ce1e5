"""Load a script that is not part of a package (``tools/*.py``, ``docs/_ext/*.py``) as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["load_module"]


def load_module(path: Path, name: str) -> ModuleType:
    """Import the file at ``path`` under ``name`` (registered in :data:`sys.modules`, so
    dataclasses and pickling inside it find their module)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
