"""Passive authentication of an eMRTD (ICAO 9303-11 §5.1, 9303-10 §4.6.2 EF.SOD).

Owns: parsing EF.SOD (CMS SignedData around an LDSSecurityObject), comparing the hash of every data group
read with the SOD, verifying the SOD signature with the embedded Document Signer (DS) certificate, and
verifying that the DS certificate was issued by a trusted CSCA from the configured trust store
(``Settings.csca_dir``: certificates, PEM or DER, one per file).

The three outcomes are deliberately distinct:
- ``failed``: something is provably wrong — a data group does not match its hash, the SOD signature or the
  DS certificate signature does not verify, the DS certificate is outside its validity, or EF.SOD is
  malformed or missing. Tampered data fails even when no trust anchors are configured.
- ``not_verified``: the data is consistent with its SOD, but no trust anchor vouches for the signer (no
  CSCA configured, none whose subject is the DS issuer, or no DS certificate in the SOD). Policy must not
  treat this as ``passed``.
- ``passed``: every read data group matches, the SOD is signed by the DS, the DS by a trusted CSCA.

Chain checks are hand-rolled (CSCA → DS is one level); CRLs are not consulted yet.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog
from asn1crypto import algos, cms, core  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from idverify.documents.emrtd.tlv import read_header

log = structlog.get_logger(__name__)

OID_LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
OID_CSCA_MASTER_LIST = "2.23.136.1.1.2"
PassiveAuthStatus = Literal["passed", "failed", "not_verified"]

_HASHES: dict[str, tuple[Any, Any]] = {
    "sha1": (hashlib.sha1, hashes.SHA1),
    "sha224": (hashlib.sha224, hashes.SHA224),
    "sha256": (hashlib.sha256, hashes.SHA256),
    "sha384": (hashlib.sha384, hashes.SHA384),
    "sha512": (hashlib.sha512, hashes.SHA512),
}
# BSI TR-03111 "plain" ECDSA signatures (r ‖ s, not DER), used by some issuers.
_PLAIN_ECDSA = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
}


class DataGroupHash(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 - asn1crypto schema declaration
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashes(core.SequenceOf):  # type: ignore[misc]
    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012 - asn1crypto schema declaration
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class LdsSecurityObject(core.Sequence):  # type: ignore[misc]
    """ICAO 9303-10 §4.6.2.2 LDSSecurityObject (version 0, or 1 with ldsVersionInfo)."""

    _fields = [  # noqa: RUF012 - asn1crypto schema declaration
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashes),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class PassiveAuthResult:
    status: PassiveAuthStatus
    detail: str


class _Failed(Exception):
    pass


class _NotVerified(Exception):
    """Consistent as far as we can see, but the signer cannot be checked."""


class CertificateSet(core.SetOf):  # type: ignore[misc]
    _child_spec = asn1_x509.Certificate


class CscaMasterList(core.Sequence):  # type: ignore[misc]
    """ICAO 9303-12 §9 CscaMasterList (the content of a ``.ml`` master list file)."""

    _fields = [  # noqa: RUF012 - asn1crypto schema declaration
        ("version", core.Integer),
        ("cert_list", CertificateSet),
    ]


def _master_list_certificates(raw: bytes) -> list[x509.Certificate]:
    """The CSCA certificates inside an ICAO master list (CMS SignedData, eContentType 2.23.136.1.1.2).

    The master list's own signature is not checked: placing the file in the trust store is the act of
    trusting it (as with the PEM files); publishers' signer certificates vary too much to pin here."""
    info = cms.ContentInfo.load(raw)
    encap = info["content"]["encap_content_info"]
    if encap["content_type"].dotted != OID_CSCA_MASTER_LIST:
        raise ValueError("not a CSCA master list")
    content = encap["content"].native
    if not isinstance(content, bytes):
        raise ValueError("master list content is not an octet string")
    master = CscaMasterList.load(content)
    return [x509.load_der_x509_certificate(cert.dump()) for cert in master["cert_list"]]


def load_trust_store(csca_dir: Path | None) -> list[x509.Certificate]:
    """Every certificate in ``csca_dir``: PEM (possibly several per file), DER, or an ICAO CSCA master list
    (``.ml``). Unreadable files are skipped with a warning naming the file (certificates are public data)."""
    if csca_dir is None or not csca_dir.is_dir():
        return []
    anchors: list[x509.Certificate] = []
    for path in sorted(p for p in csca_dir.iterdir() if p.is_file()):
        raw = path.read_bytes()
        try:
            if b"-----BEGIN CERTIFICATE-----" in raw:
                anchors.extend(x509.load_pem_x509_certificates(raw))
            else:
                try:
                    anchors.append(x509.load_der_x509_certificate(raw))
                except ValueError:
                    anchors.extend(_master_list_certificates(raw))
        except (ValueError, TypeError, KeyError):
            log.warning("csca_file_unreadable", file=str(path))
    return anchors


def parse_sod(sod: bytes) -> tuple[cms.SignedData, LdsSecurityObject, bytes]:
    """(SignedData, LDSSecurityObject, eContent bytes) of an EF.SOD (tag 77 around a CMS ContentInfo)."""
    try:
        tag, length, header = read_header(sod)
        if tag != 0x77:
            raise _Failed("EF.SOD does not start with tag 77")
        info = cms.ContentInfo.load(sod[header : header + length])
        if info["content_type"].native != "signed_data":
            raise _Failed("EF.SOD is not CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != OID_LDS_SECURITY_OBJECT:
            raise _Failed("EF.SOD does not hold an LDS security object")
        content = encap["content"].native
        if not isinstance(content, bytes):
            raise _Failed("EF.SOD content is not an octet string")
        lso = LdsSecurityObject.load(content)
        lso.native  # noqa: B018 - force a full parse so malformed objects fail here
    except _Failed:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise _Failed("EF.SOD is malformed") from exc
    return signed, lso, content


def _hash_name(algorithm: algos.DigestAlgorithm) -> str:
    name = str(algorithm["algorithm"].native)
    if name not in _HASHES:
        raise _Failed(f"unsupported hash algorithm {name}")
    return name


def check_data_group_hashes(lso: LdsSecurityObject, data_groups: dict[int, bytes]) -> None:
    """Every read data group (number → whole file as read) must have a matching hash in the SOD."""
    hash_fn = _HASHES[_hash_name(lso["hash_algorithm"])][0]
    stored = {int(item["data_group_number"].native): bytes(item["data_group_hash_value"].native)
              for item in lso["data_group_hash_values"]}
    for number, content in sorted(data_groups.items()):
        expected = stored.get(number)
        if expected is None:
            raise _Failed(f"DG{number} has no hash in EF.SOD")
        if not hmac.compare_digest(hash_fn(content).digest(), expected):
            raise _Failed(f"DG{number} does not match its hash in EF.SOD")


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    certs = [c.chosen for c in signed["certificates"] or [] if isinstance(c.chosen, asn1_x509.Certificate)]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            match = (cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native)
        else:
            match = cert.key_identifier == sid.chosen.native
        if match:
            return x509.load_der_x509_certificate(cert.dump())
    raise _NotVerified("data groups match EF.SOD, but it carries no Document Signer certificate to check")


def _verify_signature(public_key: Any, signature: bytes, data: bytes, algorithm: cms.SignedDigestAlgorithm,
                      digest_name: str) -> None:
    oid = algorithm["algorithm"].dotted
    sig_name = str(algorithm.signature_algo) if oid not in _PLAIN_ECDSA else "ecdsa"
    hash_cls = _HASHES[_PLAIN_ECDSA.get(oid, digest_name)][1]
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            if sig_name == "rsassa_pss":
                params = algorithm["parameters"]
                pss_hash = _HASHES[str(params["hash_algorithm"]["algorithm"].native)][1]
                pad: padding.AsymmetricPadding = padding.PSS(
                    mgf=padding.MGF1(pss_hash()), salt_length=int(params["salt_length"].native)
                )
                hash_cls = pss_hash
            elif sig_name == "rsassa_pkcs1v15":
                pad = padding.PKCS1v15()
            else:
                raise _Failed("signature algorithm does not match the RSA key")
            public_key.verify(signature, data, pad, hash_cls())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            if oid in _PLAIN_ECDSA:
                half = len(signature) // 2
                signature = encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                                 int.from_bytes(signature[half:], "big"))
            public_key.verify(signature, data, ec.ECDSA(hash_cls()))
        else:
            raise _Failed("unsupported Document Signer key type")
    except InvalidSignature as exc:
        raise _Failed("EF.SOD signature does not verify") from exc
    except (UnsupportedAlgorithm, ValueError, KeyError) as exc:
        raise _Failed("EF.SOD signature cannot be checked") from exc


def verify_sod_signature(signed: cms.SignedData, econtent: bytes) -> x509.Certificate:
    """Check the signed attributes and the SOD signature; return the DS certificate that made it."""
    signers = list(signed["signer_infos"])
    if len(signers) != 1:
        raise _Failed("EF.SOD must have exactly one signer")
    signer = signers[0]
    digest_name = _hash_name(signer["digest_algorithm"])
    hash_fn = _HASHES[digest_name][0]
    attrs = signer["signed_attrs"]
    if not attrs:
        raise _Failed("EF.SOD has no signed attributes")
    values = {a["type"].native: a["values"] for a in attrs}
    digest = values.get("message_digest")
    if digest is None or not hmac.compare_digest(bytes(digest[0].native), hash_fn(econtent).digest()):
        raise _Failed("EF.SOD message digest does not match its content")
    content_type = values.get("content_type")
    if content_type is None or content_type[0].dotted != OID_LDS_SECURITY_OBJECT:
        raise _Failed("EF.SOD signed content type is wrong")
    ds_cert = _signer_certificate(signed, signer)
    # The attributes are signed as a DER SET (tag 31), though stored as [0] IMPLICIT (tag A0).
    signed_bytes = b"\x31" + attrs.dump()[1:]
    _verify_signature(ds_cert.public_key(), bytes(signer["signature"].native), signed_bytes,
                      signer["signature_algorithm"], digest_name)
    return ds_cert


def _within_validity(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _issued_by(cert: x509.Certificate, anchor: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(anchor)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def verify(
    sod: bytes,
    data_groups: dict[int, bytes],
    anchors: list[x509.Certificate],
    *,
    now: datetime | None = None,
) -> PassiveAuthResult:
    """Passive authentication of ``data_groups`` (number → file bytes exactly as read) against ``sod``.

    ``now`` is the instant the DS and CSCA certificates must be valid at. :mod:`.reader` passes the earlier
    of today and the document's expiry: a DS certificate is issued to cover the validity of the documents
    it signs, so an expired passport is reported as expired (``checks.expired``), not as forged."""
    now = now or datetime.now(UTC)
    try:
        signed, lso, econtent = parse_sod(sod)
        check_data_group_hashes(lso, data_groups)
        ds_cert = verify_sod_signature(signed, econtent)
        if not _within_validity(ds_cert, now):
            raise _Failed("Document Signer certificate is outside its validity period")
        candidates = [a for a in anchors if a.subject == ds_cert.issuer]
        if not candidates:
            reason = "no CSCA configured" if not anchors else "no configured CSCA issued this document"
            return PassiveAuthResult("not_verified", f"data and SOD signature consistent; {reason}")
        for anchor in candidates:
            if _issued_by(ds_cert, anchor):
                if not _within_validity(anchor, now):
                    raise _Failed("the issuing CSCA certificate is outside its validity period")
                return PassiveAuthResult("passed", "data groups, SOD signature and DS certificate verified")
        raise _Failed("Document Signer certificate is not signed by the configured CSCA")
    except _Failed as exc:
        return PassiveAuthResult("failed", str(exc))
    except _NotVerified as exc:
        return PassiveAuthResult("not_verified", str(exc))
