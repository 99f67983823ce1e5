"""``python -m cortex``: the command line (see :mod:`cortex.cli`)."""

from __future__ import annotations

import sys

from cortex.cli import main

sys.exit(main())
