"""The application layer: every command, alarm and timer tick passes through here.

The journal binds the engine to its event log; the service runs ingest, the timers and the
notifier under one task group; the factories build them from the settings. The console, the
command line and the simulator talk to dutydesk through this package and nothing below it.
"""
