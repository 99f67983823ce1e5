"""Sphinx configuration: the guide is built from docs/, notebooks/ and the README.

The source directory is the repository root so that notebooks live once, in notebooks/,
and are both tests (``pytest --nbval``) and guide pages. Everything else is excluded.

``CORTEX_NB_EXECUTION`` picks myst-nb's execution mode: ``force`` (the guide command:
every notebook runs during the build and the glued figures are fresh) or ``off`` (the
test suite's build check, which renders the stored outputs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # so autodoc imports this checkout's cortex package
sys.path.insert(0, str(ROOT / "docs" / "_ext"))  # this guide's own directives

import cortex  # noqa: E402

project = "Cortex on free-threaded Python"
author = "The cortex-freethreading contributors"
copyright = "2026, the cortex-freethreading contributors"
release = cortex.__version__
version = release

root_doc = "docs/index"
extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_autodoc_typehints",  # must come after sphinx.ext.autodoc
    "sphinx.ext.viewcode",
    "cortex_tables",
    "cortex_perf",
    "cortex_reliability",
    "cortex_races",
    "cortex_readiness",
]

# Keep everything out of the build but docs/, notebooks/ and the README.
include_patterns = ["docs/**", "notebooks/*.ipynb", "README.md"]
exclude_patterns = [
    "_build",
    ".venv",
    "**/.ipynb_checkpoints",
    "jupyter_execute",
    "docs/_static/**",
    "docs/_templates/**",
    "docs/_ext/**",
    "docs/_generated/**",
    "docs/_data/**",
]

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist", "substitution"]
myst_heading_anchors = 3

nb_execution_mode = os.environ.get("CORTEX_NB_EXECUTION", "off")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
typehints_fully_qualified = False
always_document_param_types = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# References that point outside this project cannot resolve offline (no intersphinx
# inventories are downloaded); these are the standard-library ones our signatures use.
_STDLIB = (
    r"(threading|_thread|collections\.abc|collections|typing|os|pathlib|argparse|sqlite3|enum"
    r"|datetime|logging|io|contextlib|multiprocessing|types|importlib\.metadata|importlib)"
)
nitpick_ignore_regex = [
    ("py:class", _STDLIB + r"\..*"),
    ("py:data", _STDLIB + r"\..*"),
    ("py:func", _STDLIB + r"\..*"),
    ("py:exc", _STDLIB + r"\..*"),
    ("py:mod", _STDLIB),
    # ``tuple[str, ...]`` renders the ellipsis as a reference with older typehints releases.
    ("py:data", r"Ellipsis"),
    # Private helpers (a base class shown in "Bases:") are not documented on purpose.
    ("py:class", r"cortex(\.\w+)*\._\w+"),
    # Type variables of generic classes and functions.
    ("py:(class|obj)", r"(cortex\.[\w.]+\.)?(T|K|T_co)"),
]

html_theme = "furo"
html_title = "Cortex on free-threaded Python"
html_static_path = ["docs/_static"]
html_css_files = ["cortex.css"]
templates_path = ["docs/_templates"]
# The root document lives in docs/; _build/html/index.html forwards to it.
html_additional_pages = {"index": "redirect.html"}
html_show_sourcelink = False


def _viewcode_only_this_project(app: object) -> list[object]:
    """Drop modules outside ``cortex`` from viewcode's list before it writes its pages.

    An attribute whose value is a built-in type makes viewcode list ``builtins`` in its
    index with a link to a page it never writes (found by ``tools/check_pages.py``).
    """
    modules = getattr(getattr(getattr(app, "builder", None), "env", None), "_viewcode_modules", {})
    for name in [m for m in modules if m != "cortex" and not m.startswith("cortex.")]:
        del modules[name]
    return []


def setup(app: object) -> None:
    """Hooks of this guide's own (its directives live in docs/_ext/)."""
    app.connect("html-collect-pages", _viewcode_only_this_project, priority=100)  # type: ignore[attr-defined]
