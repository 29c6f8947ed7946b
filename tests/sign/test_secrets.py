"""Secrets are guarded like ssh guards them: passphrase files, key files and key folders must be private."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from govarc.cli import main
from govarc.errors import ConfigError
from govarc.sign.keys import check_secret_dir, read_secret

PASS = "secret-test-passphrase"


def run(home: Path, *args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--home", str(home), *args], env={"GOVARC_KEY_PASSPHRASE": PASS} if env is None else env)


def secret(path: Path, mode: int, data: bytes = b"a passphrase\n") -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666, 0o700 | 0o004])
def test_a_secret_file_others_may_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    f = secret(tmp_path / "pass.txt", mode)
    with pytest.raises(ConfigError) as e:
        read_secret(f, "the passphrase file")
    assert e.value.path == str(f) and f"(mode {mode:04o})" in e.value.message and f"chmod 600 {f}" in e.value.message
    assert "a passphrase" not in str(e.value)  # never the secret itself


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_secret_file_is_read(tmp_path: Path, mode: int) -> None:
    assert read_secret(secret(tmp_path / "pass.txt", mode), "the passphrase file") == b"a passphrase\n"


def test_a_link_is_judged_by_its_target(tmp_path: Path) -> None:
    private = secret(tmp_path / "private.txt", 0o600)
    public = secret(tmp_path / "public.txt", 0o644)
    (tmp_path / "to-private").symlink_to(private)
    (tmp_path / "to-public").symlink_to(public)
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert read_secret(tmp_path / "to-private", "the passphrase file") == b"a passphrase\n"
    with pytest.raises(ConfigError, match="mode 0644"):
        read_secret(tmp_path / "to-public", "the passphrase file")
    with pytest.raises(ConfigError, match="does not exist"):
        read_secret(tmp_path / "dangling", "the passphrase file")


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pass.fifo"
    os.mkfifo(fifo, 0o600)  # no writer: a plain open() would block forever
    with pytest.raises(ConfigError, match="is a FIFO; it must be a regular file"):
        read_secret(fifo, "the passphrase file")
    (tmp_path / "dir").mkdir(mode=0o700)
    with pytest.raises(ConfigError, match="is a folder"):
        read_secret(tmp_path / "dir", "the passphrase file")
    with pytest.raises(ConfigError, match="not a regular file"):
        read_secret(Path("/dev/null"), "the passphrase file")
    big = secret(tmp_path / "big", 0o600, b"x" * ((1 << 20) + 1))
    with pytest.raises(ConfigError, match="at most"):
        read_secret(big, "the passphrase file")


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o705, 0o770, 0o711])
def test_a_key_folder_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    d = tmp_path / "keys"
    d.mkdir()
    d.chmod(mode)
    with pytest.raises(ConfigError) as e:
        check_secret_dir(d, "the agency's key folder")
    assert f"chmod 700 {d}" in e.value.message and e.value.path == str(d)
    d.chmod(0o700)
    check_secret_dir(d, "the agency's key folder")


# -- through the CLI -----------------------------------------------------------------------------

@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A workspace with a local CA and agency LZ0012 with a key."""
    h = tmp_path / "home"
    assert run(h, "init").exit_code == 0
    assert run(h, "agency", "add", "LZ0012", "--name", "柳州市人民政府办公室", "--fonds", "0012").exit_code == 0
    assert run(h, "pki", "init-ca").exit_code == 0
    assert run(h, "pki", "issue", "LZ0012").exit_code == 0
    return h


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_cli_refuses_a_readable_passphrase_file_and_changes_nothing(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "home"
    assert run(home, "init").exit_code == 0
    pf = secret(tmp_path / "pass.txt", mode, PASS.encode() + b"\n")
    r = run(home, "pki", "init-ca", "--passphrase-file", str(pf), env={"GOVARC_KEY_PASSPHRASE": None})
    assert r.exit_code == 6
    assert r.stderr == (f"govarc: error: {pf}: the passphrase file is readable or writable by group or others "
                        f"(mode {mode:04o}); run `chmod 600 {pf}`\n")
    assert not (home / "pki" / "ca-key.pem").exists()
    pf.chmod(0o600)
    assert run(home, "pki", "init-ca", "--passphrase-file", str(pf), env={"GOVARC_KEY_PASSPHRASE": None}).exit_code == 0


def test_cli_refuses_a_fifo_passphrase_file_at_once(tmp_path: Path, home: Path, build_sample) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "pass.fifo"
    os.mkfifo(fifo, 0o600)
    pkg = build_sample()
    r = run(home, "sign", str(pkg), "--agency", "LZ0012", "--passphrase-file", str(fifo), env={"GOVARC_KEY_PASSPHRASE": None})
    assert r.exit_code == 6 and r.stderr == f"govarc: error: {fifo}: the passphrase file is a FIFO; it must be a regular file\n"
    assert not list(pkg.glob("signatures/*.p7s"))


@pytest.mark.parametrize(("what", "mode", "fix"), [
    ("folder", 0o755, "chmod 700"), ("folder", 0o750, "chmod 700"), ("key", 0o644, "chmod 600"),
    ("key", 0o640, "chmod 600"), ("key", 0o604, "chmod 600"),
])
def test_cli_refuses_a_stored_key_others_may_read(home: Path, build_sample, what: str, mode: int, fix: str) -> None:  # type: ignore[no-untyped-def]
    keys = home / "keys" / "LZ0012"
    target = keys if what == "folder" else keys / "key.pem"
    target.chmod(mode)
    pkg = build_sample()
    r = run(home, "sign", str(pkg), "--agency", "LZ0012")
    assert r.exit_code == 6
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"govarc: error: {target}: ") and f"(mode {mode:04o}); run `{fix} {target}`" in line
    assert not list(pkg.glob("signatures/*.p7s"))
    target.chmod(0o700 if what == "folder" else 0o600)
    assert run(home, "sign", str(pkg), "--agency", "LZ0012").exit_code == 0


def test_cli_judges_a_linked_key_by_its_target_and_refuses_a_fifo_key(home: Path, tmp_path: Path, build_sample) -> None:  # type: ignore[no-untyped-def]
    keys = home / "keys" / "LZ0012"
    moved = tmp_path / "elsewhere-key.pem"
    os.replace(keys / "key.pem", moved)
    (keys / "key.pem").symlink_to(moved)
    pkg = build_sample()
    moved.chmod(0o644)
    r = run(home, "sign", str(pkg), "--agency", "LZ0012")
    assert r.exit_code == 6 and "mode 0644" in r.stderr and str(keys / "key.pem") in r.stderr
    moved.chmod(0o600)
    assert run(home, "sign", str(pkg), "--agency", "LZ0012").exit_code == 0
    (keys / "key.pem").unlink()
    os.mkfifo(keys / "key.pem", 0o600)
    r = run(home, "sign", str(pkg), "--agency", "LZ0012", "--replace")
    assert r.exit_code == 6 and "is a FIFO" in r.stderr


def test_cli_refuses_a_readable_key_given_on_the_command_line_and_an_open_ca_folder(home: Path, tmp_path: Path,
                                                                                      build_sample) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    from govarc.sign.keys import load_private_key

    clear = tmp_path / "clear-key.pem"
    clear.write_bytes(load_private_key(home / "keys" / "LZ0012" / "key.pem", PASS.encode()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    clear.chmod(0o644)
    pkg = build_sample()
    r = run(home, "sign", str(pkg), "--key", str(clear), "--cert", str(home / "keys" / "LZ0012" / "cert.pem"))
    assert r.exit_code == 6 and f"run `chmod 600 {clear}`" in r.stderr
    (home / "pki").chmod(0o755)
    assert run(home, "agency", "add", "DA0001", "--name", "柳州市档案馆", "--fonds", "0001").exit_code == 0
    r = run(home, "pki", "issue", "DA0001")
    assert r.exit_code == 6 and f"run `chmod 700 {home / 'pki'}`" in r.stderr
    assert not (home / "keys" / "DA0001").exists()
