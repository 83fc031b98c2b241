"""``python -m execution.service``: run one execution service shard."""

from __future__ import annotations

import sys

from execution.service.main import main

sys.exit(main())
