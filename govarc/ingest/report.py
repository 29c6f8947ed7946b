"""What an ingest run reports: one :class:`Outcome` per item, gathered in an :class:`IngestReport`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from govarc.findings import Finding


@dataclass(frozen=True)
class Outcome:
    """What happened to one item: registered, duplicate (already in the catalog) or refused."""

    path: str
    status: str
    findings: tuple[Finding, ...]
    archival_code: str | None = None
    record_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "status": self.status, "archival_code": self.archival_code,
            "findings": [f.as_dict() for f in self.findings],
        }


SAMPLE = 100
"""How many outcomes a report handing them on (see :func:`~govarc.ingest.pipeline.ingest`) keeps."""


@dataclass(frozen=True)
class IngestReport:
    """Every item's outcome (sorted by path); or, when ``counts`` is given, the outcomes were handed
    on as they came and ``outcomes`` holds only the first :data:`SAMPLE` of them."""

    agency: str
    outcomes: tuple[Outcome, ...]
    counts: dict[str, int] | None = field(default=None, compare=False)

    def count(self, status: str) -> int:
        if self.counts is not None:
            return self.counts.get(status, 0)
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def refused(self) -> bool:
        return self.count("refused") > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "registered": self.count("registered"), "duplicate": self.count("duplicate"),
            "refused": self.count("refused"),
            "items": [o.as_dict() for o in self.outcomes],
        }


class Tally:
    """Gathers outcomes as an ingest run goes: all of them (``keep``), or counts and a sample,
    each also handed to ``sink``."""

    def __init__(self, agency: str, *, keep: bool, sink: Callable[[Outcome], None] | None = None) -> None:
        self.agency = agency
        self.keep = keep
        self.sink = sink
        self.counts: Counter[str] = Counter()
        self.outcomes: list[Outcome] = []

    def add(self, o: Outcome) -> None:
        self.counts[o.status] += 1
        if self.keep or len(self.outcomes) < SAMPLE:
            self.outcomes.append(o)
        if self.sink is not None:
            self.sink(o)

    def report(self) -> IngestReport:
        if self.keep:
            return IngestReport(self.agency, tuple(sorted(self.outcomes, key=lambda o: o.path)))
        return IngestReport(self.agency, tuple(self.outcomes), dict(self.counts))
