"""Per-record detail of a run kept on disk, not in memory, until the run log is written.

A nightly run over 100,000 records produces 100,000 ingest outcomes and as many packages; kept
as Python objects until the run log is written at the end, they made the job's memory grow with
the night's work. Each step instead appends its per-record rows (already JSON-encoded) to a
:class:`Spool`, keeping in memory only counts and the first :data:`SAMPLE` rows, and the run log
is written by :func:`write_json`, which copies each spool's rows into the file as it goes.

A :class:`Journal` holds the run's spools in a few anonymous temporary files (removed by the
system whatever happens to the process): a spool takes a file no other spool is writing, so
that each spool's rows lie in one piece of one file and a run of a hundred agencies needs two or
three descriptors, not one per list. When the temporary folder cannot take them (it is full, or
not writable) the rows are kept in memory instead: the log stays whole, only memory grows.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

SAMPLE = 100
"""How many rows of each list a run keeps in memory (the CLI's ``--json`` shows these)."""


class Journal:
    """The temporary files of one run's spools (in ``folder``); close it when the log is written."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._files: list[IO[bytes]] = []
        self._busy: set[int] = set()

    def spool(self) -> Spool:
        """A new, empty spool, writing to a file no open spool writes to (kept in memory when no
        file can be made)."""
        for i, f in enumerate(self._files):
            if i not in self._busy:
                break
        else:
            try:
                if self.folder is not None:
                    self.folder.mkdir(parents=True, exist_ok=True)
                self._files.append(tempfile.TemporaryFile(dir=self.folder, prefix=".govarc-spool-", buffering=0))
            except OSError:
                return Spool(None)
            i = len(self._files) - 1
        self._busy.add(i)
        return Spool(self, i)

    def _release(self, i: int) -> None:
        self._busy.discard(i)

    def close(self) -> None:
        for f in self._files:
            try:
                f.close()
            except OSError:  # noqa: S110 - a temporary file: nothing of it is wanted any more
                pass
        self._files.clear()
        self._busy.clear()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Spool:
    """A list of JSON rows: appended to a file, the first :data:`SAMPLE` also kept in memory
    (without a journal, every row is kept in memory).

    :meth:`finish` ends the writing (the file is then free for the next spool); iterating yields
    each row as the JSON text it was appended as.
    """

    def __init__(self, journal: Journal | None, index: int = 0) -> None:
        self._journal = journal
        self._index = index
        self.count = 0
        self.sample: list[Any] = []
        self._start = self._end = 0
        self._writing = journal is not None
        self._memory: list[str] | None = None  # the rows that could not be written, as JSON
        if journal is not None:
            f = journal._files[index]
            f.seek(0, os.SEEK_END)
            self._start = self._end = f.tell()

    def append(self, row: Any) -> None:
        """Add ``row`` (anything :func:`json.dumps` takes)."""
        if self._journal is None or len(self.sample) < SAMPLE:
            self.sample.append(row)  # without a journal every row is kept here
        self.count += 1
        if self._journal is None:
            return
        if not self._writing:
            raise ValueError("this spool is finished")
        text = json.dumps(row, ensure_ascii=False)
        if self._memory is not None:
            self._memory.append(text)
            return
        f = self._journal._files[self._index]
        data = text.encode("utf-8") + b"\n"
        try:
            if f.write(data) != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError:
            # The temporary folder is full: keep the rows in memory from here on (the file may
            # hold part of this row: it ends at the last whole one).
            self._memory = [text]
            try:
                f.truncate(self._end)
                f.seek(0, os.SEEK_END)
            except OSError:
                pass
            return
        self._end += len(data)

    def finish(self) -> Spool:
        """No more rows; the file is free for another spool. Returns this spool."""
        if self._writing and self._journal is not None:
            self._journal._files[self._index].flush()
            self._journal._release(self._index)
        self._writing = False
        return self

    def __len__(self) -> int:
        return self.count

    def rows(self) -> Iterator[str]:
        """Every row, as the JSON text it was appended as."""
        if self._journal is None or self.count <= len(self.sample):
            for row in self.sample:
                yield json.dumps(row, ensure_ascii=False)
            return
        fd = self._journal._files[self._index].fileno()
        pos, rest = self._start, b""
        while pos < self._end:
            chunk = os.pread(fd, min(1 << 16, self._end - pos), pos)
            if not chunk:
                break
            pos += len(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield line.decode("utf-8")
        if rest:
            yield rest.decode("utf-8")
        yield from self._memory or ()

    def __iter__(self) -> Iterator[Any]:
        """Every row, decoded."""
        for text in self.rows():
            yield json.loads(text)


class Rows:
    """Several lists (spools or plain lists) written as one JSON list by :func:`write_json`."""

    def __init__(self, parts: Iterable[Spool | list[Any]]) -> None:
        self.parts = tuple(parts)

    def rows(self) -> Iterator[str]:
        for part in self.parts:
            if isinstance(part, Spool):
                yield from part.rows()
            else:
                for row in part:
                    yield json.dumps(row, ensure_ascii=False)


def summary(value: Any) -> Any:
    """``value`` with every spool replaced by the list of its sample (what ``--json`` prints)."""
    if isinstance(value, Spool):
        return list(value.sample[:SAMPLE])
    if isinstance(value, Rows):
        out: list[Any] = []
        for part in value.parts:
            out.extend(part.sample if isinstance(part, Spool) else part)
            if len(out) >= SAMPLE:
                return out[:SAMPLE]
        return out
    if isinstance(value, dict):
        return {k: summary(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [summary(v) for v in value]
    return value


def write_json(value: Any, f: IO[str], indent: int = 2, level: int = 0) -> None:
    """Write ``value`` as JSON to ``f``, copying the rows of its spools (and :class:`Rows`) as they
    come, so that only one row is in memory at a time. Other values are written as
    :func:`json.dumps` writes them (``ensure_ascii=False``)."""
    pad = " " * (indent * (level + 1))
    end = " " * (indent * level)
    if isinstance(value, (Spool, Rows)):
        first = True
        for text in value.rows():
            f.write(("[\n" if first else ",\n") + pad + text)
            first = False
        f.write("[]" if first else "\n" + end + "]")
    elif isinstance(value, dict):
        if not value:
            f.write("{}")
            return
        f.write("{")
        for i, (k, v) in enumerate(value.items()):
            f.write(("\n" if i == 0 else ",\n") + pad + json.dumps(str(k), ensure_ascii=False) + ": ")
            write_json(v, f, indent, level + 1)
        f.write("\n" + end + "}")
    elif isinstance(value, (list, tuple)) and any(isinstance(v, (Spool, Rows, dict, list, tuple)) for v in value):
        if not value:
            f.write("[]")
            return
        f.write("[")
        for i, v in enumerate(value):
            f.write(("\n" if i == 0 else ",\n") + pad)
            write_json(v, f, indent, level + 1)
        f.write("\n" + end + "]")
    else:
        text = json.dumps(value, ensure_ascii=False, indent=indent)
        f.write(text.replace("\n", "\n" + end) if "\n" in text else text)
