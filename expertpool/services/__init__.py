"""Services: importing, search, conflicts, integrity, audit, panels. They return results; only the CLI prints."""
