"""The sample city's generator: ``python -m samples.maker`` (or ``samples/make_samples.py``).

Modules by job: ``corpus`` reads ``corpus.toml`` (all the texts, numbers, dates and names);
``layout`` sets a document on GB/T 9704 pages; ``pdf``, ``ofd``, ``office`` (DOCX, XLSX) and
``scans`` (JPEG, TIFF) write the formats; ``metadata`` the sidecars, registers and city.toml;
``city`` the drop folders; ``bad`` the bad inputs; ``fonts`` finds the CJK font; ``__main__`` is
the command. Everything is deterministic: the same corpus and library versions give the same bytes.
"""

from __future__ import annotations


class MakerError(Exception):
    """Something the generator cannot do; its message is one line naming the file and the problem."""
