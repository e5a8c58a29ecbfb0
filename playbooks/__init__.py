"""The domain: plans, the working-day calendar, the engine and its events. No I/O here."""
