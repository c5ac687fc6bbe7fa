"""``python -m tinynet``: the command line (see :mod:`tinynet.cli`)."""

import sys

from .cli import main

sys.exit(main())
