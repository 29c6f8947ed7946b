"""The servers the transport benches run against: a real OpenSSH sshd and a real SeaweedFS S3,
started on loopback with the test suite's helpers (``tests/servers/``) and stopped by process id."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


class Servers:
    """sshd and SeaweedFS started on demand with the test helpers, stopped by process id."""

    def __init__(self, root: Path, bucket: str) -> None:
        self.root = root
        self.bucket = bucket
        self.sshd: Any = None
        self.seaweed: Any = None

    def start_sshd(self) -> Any:
        if self.sshd is None:
            from tests.servers.sshd import start_sshd

            folder = self.root / "sshd"
            shutil.rmtree(folder, ignore_errors=True)
            self.sshd = start_sshd(folder)
        return self.sshd

    def start_seaweed(self) -> Any:
        if self.seaweed is None:
            from tests.servers.seaweed import Seaweed

            folder = self.root / "seaweed"
            shutil.rmtree(folder, ignore_errors=True)
            self.seaweed = Seaweed(folder)
            self.seaweed.start()
            self.seaweed.create_bucket(self.bucket)
        return self.seaweed

    def stop(self) -> None:
        if self.sshd is not None:
            self.sshd.stop()
        if self.seaweed is not None:
            self.seaweed.stop()
