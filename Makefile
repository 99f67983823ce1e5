# The README's two commands. Both bootstrap their own environment (see tools/dev.py).
PYTHON ?= python3

.PHONY: guide test stress parallel audit audit-eval readiness clean
guide:  ## execute the notebooks and build the HTML guide into _build/html
	$(PYTHON) tools/dev.py guide

test:   ## lint, unit/stress tests, nbval on notebooks/, examples, docs build check
	$(PYTHON) tools/dev.py test

stress: ## stress tests and twin checks under forced interleaving (pytest --preempt, 3 seeds)
	$(PYTHON) tools/dev.py stress

parallel: ## every test body in 4 threads at once (pytest-run-parallel)
	$(PYTHON) tools/dev.py parallel

audit:  ## cortex/ clean, every unsafe sample and twin found
	$(PYTHON) tools/dev.py audit

readiness: ## resolve every dependency for CPython 3.14t (needs the network); updates docs/_data/
	$(PYTHON) tools/dev.py readiness

audit-eval: ## fetch the pinned real-code corpora (PyPI) and print the audit's precision/recall
	$(PYTHON) tools/dev.py audit-eval

clean:
	rm -rf _build .venv .pytest_cache .mypy_cache .ruff_cache
