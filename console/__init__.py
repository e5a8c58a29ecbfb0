"""The duty officer's application: the command line (`console/cli.py`), the Textual duty console
(`console/app.py` and its screens) and the reports; it renders and commands, the rules live in
`playbooks/`."""
