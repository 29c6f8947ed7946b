"""Private keys on disk: encrypted, 0600, never echoed in errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from govarc.errors import InvalidInputError, SignatureError
from govarc.sign.keys import KeyAlgorithm, generate_key, load_private_key, save_private_key
from govarc.sign.pki import key_matches

PASS = b"correct horse battery staple"


def test_saved_key_is_encrypted_private_and_loads_back(tmp_path: Path) -> None:
    key = generate_key(KeyAlgorithm.EC_P256)
    path = tmp_path / "keys" / "key.pem"
    save_private_key(key, path, PASS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "BEGIN ENCRYPTED PRIVATE KEY" in text
    loaded = load_private_key(path, PASS)
    assert loaded.private_numbers() == key.private_numbers()  # type: ignore[union-attr]
    assert [p.name for p in path.parent.iterdir()] == ["key.pem"]  # no temporary file left


def test_wrong_passphrase_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    save_private_key(generate_key(), path, PASS)
    with pytest.raises(SignatureError) as e:
        load_private_key(path, b"wrong-secret-phrase")
    assert "wrong-secret-phrase" not in str(e.value) and "wrong passphrase" in str(e.value)
    with pytest.raises(SignatureError, match="needs its passphrase"):
        load_private_key(path, None)


def test_empty_passphrase_and_overwrite_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    with pytest.raises(SignatureError, match="empty passphrase"):
        save_private_key(generate_key(), path, b"")
    assert not path.exists()
    save_private_key(generate_key(), path, PASS)
    with pytest.raises(InvalidInputError, match="already exists"):
        save_private_key(generate_key(), path, PASS)


def test_rsa_3072_key() -> None:
    key = generate_key(KeyAlgorithm.RSA3072)
    assert key.key_size == 3072


def test_key_matches(tmp_path: Path) -> None:
    from govarc.sign.pki import make_ca_certificate

    a, b = generate_key(), generate_key()
    cert = make_ca_certificate(a, "x")
    assert key_matches(a, cert) and not key_matches(b, cert)
