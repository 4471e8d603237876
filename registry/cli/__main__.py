"""``python -m registry.cli``: the same as the ``schemahub`` command."""

import sys

from . import main

sys.exit(main())
