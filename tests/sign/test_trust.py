"""The trust store: anchors only from CA certificates, CRLs kept whoever signed them, atomic and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarc.errors import SignatureError
from govarc.sign.trust import LOCAL_CA_ANCHOR, TrustStore, fingerprint

from .conftest import Pki


def store(tmp_path: Path) -> TrustStore:
    return TrustStore(tmp_path / "trust", tmp_path / "trust" / "crls")


def test_empty_store_lists_nothing(tmp_path: Path) -> None:
    s = store(tmp_path)
    assert s.anchors() == () and s.crls() == ()
    assert s.listing().as_dict() == {"anchors": [], "crls": []}


def test_add_anchors_names_files_by_fingerprint_and_is_idempotent(tmp_path: Path, pki: Pki) -> None:
    s = store(tmp_path)
    added = s.add_anchors([pki.dir / "ca.pem", pki.dir / "other-ca.pem"])
    assert [a.sha256 for a in added] == [fingerprint(pki.root.cert), fingerprint(pki.other_root.cert)]
    assert added[0].file == s.trust_dir / f"{fingerprint(pki.root.cert)[:16]}.pem"
    assert list(added[0].as_dict()) == ["subject", "sha256", "file", "not_after"]
    s.add_anchors([pki.dir / "ca.pem"])
    assert sorted(p.name for p in s.trust_dir.glob("*.pem")) == sorted(a.file.name for a in added if a.file)
    assert set(s.anchors()) == {pki.root.cert, pki.other_root.cert}
    assert not list(s.trust_dir.glob(".*"))  # no temporaries left behind


def test_add_anchors_refuses_a_leaf_naming_its_file(tmp_path: Path, pki: Pki) -> None:
    s = store(tmp_path)
    with pytest.raises(SignatureError, match="not a CA certificate") as e:
        s.add_anchors([pki.dir / "ca.pem", pki.dir / "agency-cert.pem"])
    assert e.value.path == str(pki.dir / "agency-cert.pem")
    assert s.anchors() == (pki.root.cert,)  # what came before the refusal is kept


def test_local_ca_replaces_the_one_before(tmp_path: Path, pki: Pki) -> None:
    s = store(tmp_path)
    assert s.add_local_ca(pki.other_root.cert) == s.trust_dir / LOCAL_CA_ANCHOR
    s.add_local_ca(pki.root.cert)
    assert s.anchors() == (pki.root.cert,)


def test_add_crls_says_whether_an_anchor_signed_them(tmp_path: Path, pki: Pki) -> None:
    s = store(tmp_path)
    [before] = s.add_crls([pki.dir / "ca.crl"])
    assert before.signed_by_trust_anchor is False and before.revoked == 1
    s.add_anchors([pki.dir / "ca.pem"])
    [after] = s.add_crls([pki.dir / "ca.crl"])
    assert after.signed_by_trust_anchor is True and after.file == before.file
    assert list(after.as_dict()) == ["issuer", "revoked", "file", "signed_by_trust_anchor"]
    [listed] = s.listing().crls
    assert listed.revoked == 1 and listed.next_update is not None
    assert list(listed.as_dict()) == ["issuer", "last_update", "next_update", "revoked"]
