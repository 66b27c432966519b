"""`python -m interp_core <command> --json`: every page, headless (see interp_core/cli/entry.py)."""
import sys

from interp_core.cli.entry import main

sys.exit(main())
