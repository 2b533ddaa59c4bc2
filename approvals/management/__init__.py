"""Management commands: one-line errors on bad input (base.py) and the commands themselves."""
