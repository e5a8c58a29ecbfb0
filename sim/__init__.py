"""The simulator: drill scenarios, the drill runner and its scoring."""
