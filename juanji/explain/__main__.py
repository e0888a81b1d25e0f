"""``python -m juanji.explain MODEL``: see ``juanji/explain/command.py``."""

import sys

from .command import main

sys.exit(main())
