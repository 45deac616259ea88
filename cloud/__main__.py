"""``python -m cloud``: the same as the ``smartpos-cloud`` console script."""

import sys

from cloud.cli import main

sys.exit(main())
