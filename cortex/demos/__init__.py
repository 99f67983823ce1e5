"""Race demonstrations: each unsafe twin beside its fix, and the harness that releases threads.

The notebooks, the tests and the benchmarks import from here, so the code that shows a race
is the same code that the tests prove is caught. Nothing here is used by the application.
"""
