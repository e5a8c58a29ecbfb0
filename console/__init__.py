"""The duty officer's application: the command line and, later, the Textual console."""
