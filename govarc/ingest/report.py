"""What an ingest run reports: one :class:`Outcome` per item, gathered in an :class:`IngestReport`."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class IngestReport:
    agency: str
    outcomes: tuple[Outcome, ...]

    def count(self, status: str) -> int:
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
