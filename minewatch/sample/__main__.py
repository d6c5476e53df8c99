"""`python -m minewatch.sample`: the sample command without the minewatch CLI."""

import sys

from minewatch.sample.cli import main

sys.exit(main())
