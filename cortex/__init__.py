"""Cortex Linux modules made safe for free-threaded Python, with the races they fix.

Importing :mod:`cortex` does no work: no files, databases or threads are touched until a
module's functions are called.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
