"""Passive authentication: passed / failed / not_verified, RSA (PKCS#1 v1.5, PSS) and ECDSA, SHA-1/256."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from hardware_fixtures.emrtd import TestIdentity, TestPki, build_files
from hardware_fixtures.emrtd.identity import build_dg1, build_dg2

from idverify.documents.emrtd import passive_auth
from idverify.documents.emrtd.tlv import tlv


def _dgs(identity: TestIdentity) -> dict[int, bytes]:
    return {1: build_dg1(identity), 2: build_dg2(identity)}


@pytest.mark.parametrize(("signature", "hash_name"), [("ecdsa", "sha256"), ("rsa", "sha256"), ("rsa-pss", "sha256"),
                                                     ("ecdsa", "sha1")])
def test_passed_with_trusted_csca(identity: TestIdentity, signature: str, hash_name: str) -> None:
    pki = TestPki.generate(signature=signature)
    dgs = _dgs(identity)
    result = passive_auth.verify(pki.build_sod(dgs, hash_name=hash_name), dgs, [pki.csca_cert])
    assert result.status == "passed", result.detail


def test_not_verified_without_anchors(identity: TestIdentity, pki: TestPki) -> None:
    dgs = _dgs(identity)
    result = passive_auth.verify(pki.build_sod(dgs), dgs, [])
    assert result.status == "not_verified"
    assert "no CSCA configured" in result.detail


def test_not_verified_when_no_anchor_names_the_issuer(identity: TestIdentity, pki: TestPki) -> None:
    other = TestPki.generate(country="ZZ")
    dgs = _dgs(identity)
    assert passive_auth.verify(pki.build_sod(dgs), dgs, [other.csca_cert]).status == "not_verified"


def test_failed_when_an_impostor_csca_has_the_same_name(identity: TestIdentity, pki: TestPki) -> None:
    impostor = TestPki.generate()  # same subject name, different key
    dgs = _dgs(identity)
    result = passive_auth.verify(impostor.build_sod(dgs), dgs, [pki.csca_cert])
    assert result.status == "failed"
    assert "not signed by the configured CSCA" in result.detail


@pytest.mark.parametrize("tamper", [1, 2])
def test_tampered_data_group_fails_even_without_anchors(identity: TestIdentity, pki: TestPki, tamper: int) -> None:
    files = build_files(identity, pki, tamper_dg=tamper)
    dgs = {1: files[0x0101], 2: files[0x0102]}
    for anchors in ([pki.csca_cert], []):
        result = passive_auth.verify(files[0x011D], dgs, anchors)
        assert result.status == "failed"
        assert f"DG{tamper} does not match" in result.detail


def test_data_group_without_hash_fails(identity: TestIdentity, pki: TestPki) -> None:
    dgs = _dgs(identity)
    sod = pki.build_sod({1: dgs[1]})
    result = passive_auth.verify(sod, dgs, [pki.csca_cert])
    assert (result.status, result.detail) == ("failed", "DG2 has no hash in EF.SOD")


def test_corrupted_signature_fails(identity: TestIdentity) -> None:
    pki = TestPki.generate(signature="rsa")
    dgs = _dgs(identity)
    sod = bytearray(pki.build_sod(dgs))
    sod[-5] ^= 0x01  # inside the RSA signature, the last field of the SOD
    result = passive_auth.verify(bytes(sod), dgs, [pki.csca_cert])
    assert (result.status, result.detail) == ("failed", "EF.SOD signature does not verify")


def test_expired_document_signer_fails(identity: TestIdentity) -> None:
    pki = TestPki.generate(ds_not_before=datetime.now(UTC) - timedelta(days=30), ds_valid_days=10)
    dgs = _dgs(identity)
    result = passive_auth.verify(pki.build_sod(dgs), dgs, [pki.csca_cert])
    assert result.status == "failed"
    assert "validity" in result.detail


@pytest.mark.parametrize("sod", [b"", b"\x77\x03abc", tlv(0x60, b"\x01"), tlv(0x77, tlv(0x30, b"\x06\x01\x00"))])
def test_malformed_sod_fails(identity: TestIdentity, pki: TestPki, sod: bytes) -> None:
    result = passive_auth.verify(sod, _dgs(identity), [pki.csca_cert])
    assert result.status == "failed"


def test_trust_store_reads_pem_and_der_and_skips_junk(tmp_path: Path) -> None:
    one, two = TestPki.generate(), TestPki.generate(country="ZZ")
    one.write_csca(tmp_path / "a")
    two.write_csca(tmp_path / "a", der=True)
    (tmp_path / "a" / "notes.txt").write_text("not a certificate")
    anchors = passive_auth.load_trust_store(tmp_path / "a")
    assert sorted(a.subject.rfc4514_string() for a in anchors) == sorted(
        c.subject.rfc4514_string() for c in (one.csca_cert, two.csca_cert))
    assert all(isinstance(a, x509.Certificate) for a in anchors)
    assert passive_auth.load_trust_store(None) == []
    assert passive_auth.load_trust_store(tmp_path / "missing") == []


def test_trust_store_reads_icao_master_list(tmp_path: Path, identity: TestIdentity) -> None:
    from asn1crypto import cms, core  # type: ignore[import-untyped]
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding

    one, two = TestPki.generate(), TestPki.generate(country="ZZ")
    certs = [asn1_x509.Certificate.load(p.csca_cert.public_bytes(Encoding.DER)) for p in (one, two)]
    master = passive_auth.CscaMasterList({"version": 0, "cert_list": certs})
    signed = cms.SignedData({
        "version": "v3", "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": passive_auth.OID_CSCA_MASTER_LIST,
                               "content": core.ParsableOctetString(master.dump())},
        "signer_infos": [],
    })
    (tmp_path / "ICAO_ml.ml").write_bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())
    anchors = passive_auth.load_trust_store(tmp_path)
    assert sorted(a.fingerprint(hashes.SHA256()) for a in anchors) == sorted(  # DER SET OF: any order
        p.csca_cert.fingerprint(hashes.SHA256()) for p in (one, two))
    dgs = _dgs(identity)
    assert passive_auth.verify(two.build_sod(dgs), dgs, anchors).status == "passed"


def test_sod_without_ds_certificate_is_not_verified(identity: TestIdentity, pki: TestPki) -> None:
    from asn1crypto import cms

    dgs = _dgs(identity)
    sod = pki.build_sod(dgs)
    info = cms.ContentInfo.load(sod[4:])  # 77 82 LL LL
    signed = info["content"]
    signed["certificates"] = None
    stripped = tlv(0x77, cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump(force=True))
    result = passive_auth.verify(stripped, dgs, [pki.csca_cert])
    assert result.status == "not_verified"
    assert "no Document Signer certificate" in result.detail


def test_certificates_checked_at_the_given_instant(identity: TestIdentity) -> None:
    pki = TestPki.generate(ds_not_before=datetime.now(UTC) - timedelta(days=30), ds_valid_days=10)
    dgs = _dgs(identity)
    during = datetime.now(UTC) - timedelta(days=25)
    assert passive_auth.verify(pki.build_sod(dgs), dgs, [pki.csca_cert], now=during).status == "passed"
