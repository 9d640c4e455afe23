"""The synthetic pool: a realistic generated expert pool in the import formats (`generate`), and
small solver instances (`candidates`) for tests and benchmarks. Not used by any use case."""
