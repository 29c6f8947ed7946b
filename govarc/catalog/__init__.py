"""The catalog: records, their files, archival-code sequences, packages, runs (SQLite)."""
