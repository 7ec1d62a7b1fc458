"""Entry point of ``python -m medcore``."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from medcore.cli import main  # noqa: E402

sys.exit(main())
