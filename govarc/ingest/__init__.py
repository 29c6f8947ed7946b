"""Ingest: find the records in a drop folder, inspect their documents, validate and register them."""
