"""``examples/audit_sample/`` after fixing everything the audit found.

Each module says, next to the change, which finding it answers. The fixes use the
project's shared primitives (:mod:`cortex.utils`), as the guide recommends.
"""
