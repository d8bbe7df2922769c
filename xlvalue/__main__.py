"""`python -m xlvalue` runs the command line."""

import sys

from xlvalue.cli.main import main

sys.exit(main())
