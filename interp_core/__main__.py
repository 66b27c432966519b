"""`python -m interp_core <command> --json`: every page, headless."""
import sys

from interp_core.cli.main import main

sys.exit(main())
