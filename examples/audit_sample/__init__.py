"""A small package manager front end with the races the audit looks for (do not copy).

``examples/audit_sample_fixed/`` is the same application after fixing every finding.
``notebooks/10-audit.ipynb`` and ``docs/guide/audit.md`` run the audit on both.
"""
