"""The console's screens, one module each: the board, an incident, the forms, alarms and devices,
the duty log, the rectification register and help. Each reads through the app's `queries`."""
