"""A real OpenSSH ``sshd`` on 127.0.0.1 for the SFTP tests: its own host key, client key and config.

Started once per test session (per xdist worker) by the ``sshd`` fixture in ``fixtures.py``, as a
non-daemon (``-D -e``), and stopped by its own process id. ``kill_sessions`` kills the session
processes it forked (a server dying mid-upload) while the listener stays up for the next connection.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 15.0


def _find(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join(["/usr/sbin", "/usr/local/sbin", os.environ.get("PATH", "")]))
    if path is None:
        raise RuntimeError(f"{name} not found: install Debian's openssh-server and openssh-client (make deps)")
    return path


def keygen(path: Path, comment: str = "govarc-test") -> Path:
    """A new ed25519 key pair without a passphrase at ``path`` (and ``path.pub``); returns ``path``."""
    subprocess.run([_find("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL)
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(entry))
    return out


@dataclass
class Sshd:
    """A running sshd: where it listens, who may log in, and the files a client needs."""

    folder: Path
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes]
    log: Path

    host = "127.0.0.1"

    def url(self, path: Path | str) -> str:
        from urllib.parse import quote

        return f"sftp://{self.user}@{self.host}:{self.port}{quote(str(path))}"

    def options(self, **extra: object) -> dict[str, object]:
        return {"identity_file": str(self.client_key), "known_hosts": str(self.known_hosts), "timeout": 60, **extra}

    def host_line(self, public_key_file: Path) -> str:
        """A known_hosts line for this server with the key in ``public_key_file``."""
        kind, blob = public_key_file.read_text().split()[:2]
        return f"[{self.host}]:{self.port} {kind} {blob}\n"

    def sessions(self) -> list[int]:
        """The processes this sshd forked for its connections (and theirs)."""
        found: list[int] = []
        todo = [self.process.pid]
        while todo:
            kids = _children(todo.pop())
            found += kids
            todo += kids
        return found

    def kill_sessions(self) -> int:
        """SIGKILL every session process of this sshd (a server dying mid-transfer); the listener stays."""
        killed = 0
        for pid in self.sessions():
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        return killed

    def stop(self) -> None:
        self.kill_sessions()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_sshd(folder: Path) -> Sshd:
    """Generate keys and a config in ``folder`` and start sshd on a free loopback port; wait until it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    host_key = keygen(folder / "ssh_host_ed25519_key", "govarc-test-host")
    client_key = keygen(folder / "client_key", "govarc-test-client")
    authorized = folder / "authorized_keys"
    authorized.write_text((folder / "client_key.pub").read_text())
    authorized.chmod(0o600)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
    user = getpass.getuser()
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {host_key}",
        "PidFile none",
        f"AuthorizedKeysFile {authorized}",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "UseDNS no",
        "MaxStartups 100",
        "MaxSessions 100",
        "Subsystem sftp internal-sftp",
        "LogLevel ERROR",
        "",
    ]))
    known_hosts = folder / "known_hosts"
    log = folder / "sshd.log"
    with open(log, "wb") as err:
        process = subprocess.Popen([_find("sshd"), "-D", "-e", "-f", str(config)],
                                   stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    server = Sshd(folder, port, user, client_key, known_hosts, process, log)
    known_hosts.write_text(server.host_line(folder / "ssh_host_ed25519_key.pub"))
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection((server.host, port), timeout=1) as s:
                s.settimeout(2)
                if s.recv(4).startswith(b"SSH-"):
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"sshd did not answer on port {port}: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
