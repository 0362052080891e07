"""A throwaway CSCA → Document Signer chain and EF.SOD signing, generated fresh for every fixture.

Keys live only in memory; :meth:`TestPki.write_csca` writes the CSCA *certificate* (public) where a test's
``csca_dir`` points. ECDSA P-256 by default (fast to generate); RSA-2048 with PKCS#1 v1.5 or PSS on request,
so both signature paths of passive authentication are exercised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import cms, core  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from idverify.documents.emrtd.passive_auth import OID_LDS_SECURITY_OBJECT, LdsSecurityObject
from idverify.documents.emrtd.tlv import tlv

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _name(common_name: str, country: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "idverify test PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _new_key(kind: str) -> Any:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class TestPki:
    __test__ = False  # not a pytest test class
    """CSCA (self-signed) and DS certificate plus the DS private key."""

    csca_cert: x509.Certificate
    ds_cert: x509.Certificate
    ds_key: Any
    signature: str = "ecdsa"  # "ecdsa", "rsa" (PKCS#1 v1.5) or "rsa-pss"

    @classmethod
    def generate(cls, *, signature: str = "ecdsa", country: str = "UT", ds_valid_days: int = 3650,
                 ds_not_before: datetime | None = None) -> TestPki:
        kind = "rsa" if signature.startswith("rsa") else "ecdsa"
        now = datetime.now(UTC)
        csca_key, ds_key = _new_key(kind), _new_key(kind)
        csca_name = _name("Test CSCA", country)
        csca_start = min(now, ds_not_before or now) - timedelta(days=1)
        csca = (
            x509.CertificateBuilder().subject_name(csca_name).issuer_name(csca_name)
            .public_key(csca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(csca_start).not_valid_after(now + timedelta(days=5000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(csca_key, hashes.SHA256())
        )
        start = ds_not_before or now - timedelta(days=1)
        ds = (
            x509.CertificateBuilder().subject_name(_name("Test Document Signer", country)).issuer_name(csca_name)
            .public_key(ds_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=ds_valid_days))
            .sign(csca_key, hashes.SHA256())
        )
        return cls(csca_cert=csca, ds_cert=ds, ds_key=ds_key, signature=signature)

    def write_csca(self, directory: Path, *, der: bool = False) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        if der:
            path = directory / "test-csca.der"
            path.write_bytes(self.csca_cert.public_bytes(serialization.Encoding.DER))
        else:
            path = directory / "test-csca.pem"
            path.write_bytes(self.csca_cert.public_bytes(serialization.Encoding.PEM))
        return path

    def _sign(self, data: bytes, hash_name: str) -> tuple[bytes, dict[str, Any]]:
        hash_alg = _HASHES[hash_name]()
        if self.signature == "rsa":
            return self.ds_key.sign(data, padding.PKCS1v15(), hash_alg), {"algorithm": f"{hash_name}_rsa"}
        if self.signature == "rsa-pss":
            salt = hash_alg.digest_size
            sig = self.ds_key.sign(data, padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=salt), hash_alg)
            params = {
                "hash_algorithm": {"algorithm": hash_name},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": hash_name}},
                "salt_length": salt,
                "trailer_field": "trailer_field_bc",
            }
            return sig, {"algorithm": "rsassa_pss", "parameters": params}
        return self.ds_key.sign(data, ec.ECDSA(hash_alg)), {"algorithm": f"{hash_name}_ecdsa"}

    def build_sod(self, data_groups: dict[int, bytes], *, hash_name: str = "sha256") -> bytes:
        """EF.SOD (tag 77) over the given data group files, signed by the DS."""
        hash_fn = getattr(hashlib, hash_name)
        lso = LdsSecurityObject({
            "version": 0,
            "hash_algorithm": {"algorithm": hash_name},
            "data_group_hash_values": [
                {"data_group_number": n, "data_group_hash_value": hash_fn(content).digest()}
                for n, content in sorted(data_groups.items())
            ],
        })
        econtent = lso.dump()
        attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": [OID_LDS_SECURITY_OBJECT]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hash_fn(econtent).digest()]}),
        ])
        signature, sig_alg = self._sign(attrs.dump(), hash_name)
        ds_asn1 = asn1_x509.Certificate.load(self.ds_cert.public_bytes(serialization.Encoding.DER))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
                {"issuer": ds_asn1.issuer, "serial_number": ds_asn1.serial_number})}),
            "digest_algorithm": {"algorithm": hash_name},
            "signed_attrs": attrs,
            "signature_algorithm": sig_alg,
            "signature": signature,
        })
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": hash_name}],
            "encap_content_info": {"content_type": OID_LDS_SECURITY_OBJECT,
                                   "content": core.ParsableOctetString(econtent)},
            "certificates": [ds_asn1],
            "signer_infos": [signer],
        })
        info = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tlv(0x77, info.dump())
