"""One reader per format family, each filling a :class:`~govarc.ingest.readers.base.Found`; see :mod:`govarc.ingest.inspect`."""
