"""File formats: the import files (CSV, XLSX, JSONL) read into numbered rows, and rows made into
records. No store, no use case: services call these."""
