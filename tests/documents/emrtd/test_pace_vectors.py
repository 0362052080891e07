"""PACE building blocks against published values: ICAO 9303-11 Appendix G.1 (ECDH generic mapping on
brainpoolP256r1, as also used by gmrtd's tests) and an AES secure-messaging trace from a real card
(gmrtd ``TestDoPace_CAM_ECDH_DE``). The curve constants are checked against ``cryptography``'s curves."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec as cec

from idverify.documents.emrtd.bac import SessionKeys
from idverify.documents.emrtd.ec import BRAINPOOL_P256R1, P256, Curve
from idverify.documents.emrtd.sm import SecureMessaging

H = bytes.fromhex


@pytest.mark.parametrize(("curve", "reference"), [(P256, cec.SECP256R1()), (BRAINPOOL_P256R1, cec.BrainpoolP256R1())])
def test_curve_constants_match_cryptography(curve: Curve, reference: cec.EllipticCurve) -> None:
    assert curve.on_curve(curve.g)
    assert curve.multiply(curve.n, curve.g) is None
    for k in (1, 2, 0xC0FFEE, curve.n - 1):
        numbers = cec.derive_private_key(k, reference).public_key().public_numbers()
        assert curve.multiply(k, curve.g) == (numbers.x, numbers.y)


def test_point_decoding_rejects_off_curve_points() -> None:
    good = BRAINPOOL_P256R1.encode(BRAINPOOL_P256R1.g)
    assert BRAINPOOL_P256R1.decode(good) == BRAINPOOL_P256R1.g
    bad = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(ValueError):
        BRAINPOOL_P256R1.decode(bad)


def test_generic_mapping_appendix_g1() -> None:
    curve = BRAINPOOL_P256R1
    s = 0x3F00C4D39D153F2B2A214A078D899B22
    shared = (0x60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5,
              0x0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181)
    mapped = curve.add(curve.multiply(s, curve.g), shared)
    assert mapped == (0x8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2,
                      0x8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522)


def test_aes_secure_messaging_trace() -> None:
    sm = SecureMessaging(SessionKeys(H("A8E85E938514EC67AE33CDA3D43D3C48"), H("27F1ADEB705A049A305B0C619B14B9B3"),
                                     0, "aes"))
    assert sm.protect(0x00, 0xA4, 0x02, 0x0C, H("011D")) == H(
        "0CA4020C1D87110147EE2E3BD440FB596167F2BB6CD6395E8E08A105747484314BCF00")
    assert sm.unprotect(H("990290008E085F570BADDD1002D2"), 0x9000) == (b"", 0x9000)
    assert sm.protect(0x00, 0xB0, 0x00, 0x00, le=4) == H("0CB000000D9701048E085D283EC183CBB99800")
    data, sw = sm.unprotect(H("871101D688D27A6D16F03619E76DCB59C1F1EC990290008E08B7DF9A5982BB1729"), 0x9000)
    assert (len(data), sw) == (4, 0x9000)
    assert sm.ssc == 4
