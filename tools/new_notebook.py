#!/usr/bin/env python3
"""Write a notebook from a plain-text outline, then execute it in place (outputs stored).

Outline format (one file per notebook under notebooks/src/): cells separated by lines
``# %% [markdown]`` or ``# %%``, optionally followed by tags, e.g. ``# %% tags=ignore``
(nbval ignores that cell's output). Usage::

    python tools/new_notebook.py notebooks/src/01-singletons.py

Run it inside the project's environment (``.venv/<tag>/bin/python``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TAGS = {"ignore": "nbval-ignore-output", "skip": "nbval-skip", "raises": "raises-exception"}


def _uncomment(line: str) -> str:
    """``# text`` -> ``text`` and a bare ``#`` -> an empty line; nothing else is removed."""
    if line.startswith("# "):
        return line[2:]
    return "" if line == "#" else line


def build(outline: Path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    for chunk in re.split(r"^(?=# %%)", outline.read_text(encoding="utf-8"), flags=re.M):
        if not chunk.strip():
            continue
        header, _, body = chunk.partition("\n")
        body = body.strip("\n")
        tags = [TAGS[t] for t in re.findall(r"tags=(\w+)", header)]
        if "[markdown]" in header:
            text = "\n".join(_uncomment(line) for line in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        notebook.cells.append(cell)
    return notebook


def main() -> None:
    for name in sys.argv[1:]:
        outline = Path(name)
        target = outline.parent.parent / (outline.stem + ".ipynb")
        notebook = build(outline)
        NotebookClient(
            notebook, timeout=600, resources={"metadata": {"path": str(target.parent)}}
        ).execute()
        for index, cell in enumerate(notebook.cells):
            cell.id = f"{outline.stem}-{index}"
            cell.pop("execution", None)
            cell.metadata.pop("execution", None)
        nbformat.write(notebook, target)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
