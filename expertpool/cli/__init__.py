"""The typer + rich command line: thin shells over the services."""
