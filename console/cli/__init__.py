"""The `dutydesk` command line.

- `parser.py`: every command, its options and help; each names its handler "module:function".
- `main.py`: parse, open the context, run the one handler, write its answer; errors as one line.
- `bootstrap.py`: the composition root: settings, store, journal, service, console, apprise.
- `output.py`: what a handler returns (`Table`, `Lines`, `Raw`) and the one writer of text or JSON.
- one module per group of commands: `plans`, `calendar`, `incidents` (`incident`, `incidents`),
  `rectify`, `report`, `alarms` (`alarms`, `devices`), `running` (`serve`, `console`), `drills`
  (`drill`, `demo`, `sim`), `notify` (`roster`, `notify`, `notifications`), `records` (`backup`,
  `audit`).

Each module imports only what its commands use, so a command starts at once.
"""

from dutydesk.console.cli.main import main

__all__ = ["main"]
