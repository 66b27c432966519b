"""`python -m interp_core <command> --json`: every page, headless."""
import sys

from .cli.main import main

sys.exit(main())
