# %% [markdown]
# # The audit: find these races in any code base
#
# Every page of this guide starts from a pattern that someone found by reading code. The
# upstream audit was done by hand and still missed a singleton, two lost commits and a
# connection used after it went back to its pool. `python -m cortex.audit PATH` looks for
# the same patterns automatically: it parses the source with the standard `ast` module
# (it never imports or runs the code) and reports each finding with its file, line,
# pattern id, severity and the guide page that explains the fix.
#
# A finding is shown only with evidence that the pattern matters where it is (the object
# is shared between threads, the file is the application's own, the checkout really does
# not commit); without it, the finding is `info` and hidden unless asked for
# (`--show-info`).
#
# This notebook runs it on a small sample application with several of these races,
# then on the same application after fixing every finding, measures how well it does
# on a labelled corpus of unsafe and safe samples, and shows its last measured precision
# on real code.

# %% tags=ignore
from cortex.runtime import runtime_facts

facts = runtime_facts()
print(facts.banner())

# %% [markdown]
# ## A sample application
#
# `examples/audit_sample/` is a five-module package-manager front end: a registry with a
# lazy singleton and counters bumped from a thread pool, an install history on a
# connection pool, a preferences file, and a downloader with a spinner thread and a
# mirror fallback. Each module reads fine on its own.

# %%
from cortex.audit import audit_paths, format_text

before = audit_paths(["../examples/audit_sample"])
print(format_text(before))

# %% [markdown]
# Every finding names the guide page with the fix. The same run as JSON (for scripts) or
# SARIF 2.1.0 (for code-scanning tools) is one option away: `--format json`,
# `--format sarif`. One SARIF result:

# %%
import json

from cortex.audit.report import to_sarif_document

sarif = to_sarif_document(before)
print("SARIF version:", sarif["version"])
print("rules described:", len(sarif["runs"][0]["tool"]["driver"]["rules"]))
print(json.dumps(sarif["runs"][0]["results"][0], indent=2))

# %% [markdown]
# ## After the fixes
#
# `examples/audit_sample_fixed/` is the same application with each finding fixed the way
# the guide recommends: `LazySingleton` for the registry, every use of a pooled
# connection inside its block, `update_json` (a lock per path, across processes, and an
# atomic replace) for the preferences, the counters under the object's lock, an asyncio
# semaphore created by the coroutine that runs the batch, a loop over the mirrors instead
# of a recursion, and a spinner thread with its own iterator.

# %%
after = audit_paths(["../examples/audit_sample_fixed"])
print(format_text(after))
fixed = sorted({f.rule.id for f in before.active} - {f.rule.id for f in after.active})
print("patterns fixed:", ", ".join(fixed))

# %% [markdown]
# ## This project's unsafe twins
#
# `cortex/demos/` keeps every upstream pattern runnable so that the tests can prove they
# catch it; the audit must find them all, some only at `info` (a twin whose threads live
# in the tests shows no threads in its own module, and `singleton-instance-attr` is
# informational: see the guide's table by rule). (The list grows as race classes are
# added, so nbval does not compare this cell's output.)

# %% tags=ignore
demos = audit_paths(["../cortex/demos"])
for finding in demos.findings:
    if not finding.suppressed:
        where = f"{finding.path.removeprefix('../')}:{finding.line}"
        print(f"{where}  {finding.rule.id} ({finding.severity.label})")

# %% [markdown]
# The application modules themselves (`cortex/` without `cortex/demos/`) must come out
# clean; `tests/test_audit.py` and CI check that on every run.

# %% [markdown]
# ## Precision and recall
#
# `tests/audit_corpus/` holds small samples written for this purpose: unsafe ones label
# what they contain (`# expect: pattern-id`, one line per occurrence); safe ones, many of
# them the fixed twin of an unsafe one or a near miss (a lock taken with `acquire()`, a
# thread-local counter, a pool that commits, an atomic write through a temporary file),
# must produce nothing. A finding of the right pattern in the right file is a true
# positive; anything else found is a false positive; a label not found is a false
# negative.

# %%
from cortex.audit.corpus import evaluate_corpus

score = evaluate_corpus("../tests/audit_corpus")
print(score.summary())
print("samples scored imperfectly:", score.mistakes() or "none")

# %% [markdown]
# ## On real code
#
# The corpus above was written with the rules. `python -m cortex.audit.evaluate` runs the
# audit over pinned third-party packages (fetched from PyPI, never vendored), the
# interpreter's own concurrency modules, upstream Cortex and upstream-shaped reproductions,
# with every finding labelled by hand in `tests/audit_eval/labels.json`. Fetching needs
# the network, so this notebook reads the result committed by the last run; the guide's
# audit page recomputes it when the corpora are present. Packages added in a later round
# were fetched after a revision of the rules; the guide explains why only each round's
# first score is unbiased, and the recall of the pooled groups shows the difference.

# %%
from cortex.audit.evaluate import RESULT_FILE

result = json.loads(RESULT_FILE.read_text(encoding="utf-8"))
print(f"measured {result['generated']} on {result['interpreter']}")
for corpus in result["corpora"]:
    if corpus["shown"]:
        added = f" (round {corpus['round']})" if corpus["round"] else ""
        print(
            f"{corpus['name'] + added:<28} shown {corpus['shown']:>3}  "
            f"true {corpus['true']:>3}  precision {corpus['precision']}"
        )
for group, tally in result["pooled"].items():
    print(
        f"pooled: {group:<24} shown {tally['shown']:>3}  precision {tally['precision']}  "
        f"recall {tally['found']}/{tally['defects']}"
    )
recall, every = result["recall"], result["any_severity"]
print(f"recall on labelled true defects: {recall['found']}/{recall['defects']}")
print(
    f"with --show-info: recall {every['found']}/{recall['defects']}, precision "
    f"{every['precision']}; {every['without_finding']} missed defects have no finding"
)

# %% [markdown]
# ## What it costs
#
# The audit reads each file once and walks its syntax tree a few times. Files per second
# over this repository's `cortex/` package, on the interpreter above:

# %% tags=ignore
import time
from pathlib import Path

from cortex.demos.measure import publish

files = len(list(Path("../cortex").rglob("*.py")))
start = time.perf_counter()
for _ in range(3):
    audit_paths(["../cortex"])
elapsed = (time.perf_counter() - start) / 3
print(f"{files} files in {elapsed * 1000:.0f} ms: {files / elapsed:.0f} files/s [{facts.banner()}]")
publish("10-audit", "audit_files_per_second", round(files / elapsed), "files/s")
publish("10-audit", "audit_precision", round(score.precision, 3), "")
publish("10-audit", "audit_recall", round(score.recall, 3), "")
