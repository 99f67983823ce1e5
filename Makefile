# The README's two commands. Both bootstrap their own environment (see tools/dev.py).
PYTHON ?= python3

.PHONY: guide test clean
guide:  ## execute the notebooks and build the HTML guide into _build/html
	$(PYTHON) tools/dev.py guide

test:   ## lint, unit/stress tests, nbval on notebooks/, examples, docs build check
	$(PYTHON) tools/dev.py test

clean:
	rm -rf _build .venv .pytest_cache .mypy_cache .ruff_cache
