"""The edges: the SQLite event log, configuration, the wall clock and the running service."""
