"""``python -m cortex.audit PATH...`` (see :mod:`cortex.audit.cli`)."""

from __future__ import annotations

import sys

from cortex.audit.cli import main

sys.exit(main())
