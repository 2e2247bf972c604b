"""``python -m visionseg.tabular input=FILE output=DIR [key=value ...]``."""

import sys

from visionseg.tabular.cli import main

sys.exit(main())
