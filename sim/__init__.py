"""The simulator: scenarios and drills (arrives with the drills issue)."""
