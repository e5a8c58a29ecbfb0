"""`python -m dutydesk.console.cli`: how the console starts the engine in a process of its own."""

import sys

from dutydesk.console.cli.main import main

sys.exit(main())
