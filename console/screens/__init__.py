"""The console's screens: the board, an incident, the forms, alarms and devices, the duty log."""
