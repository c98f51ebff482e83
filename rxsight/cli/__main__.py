"""`python -m rxsight.cli`: the `rxsight` command."""

import sys

from rxsight.cli import main

sys.exit(main())
