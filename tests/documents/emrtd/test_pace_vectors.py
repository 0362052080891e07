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


APPENDIX_G1 = [  # ICAO 9303-11 Appendix G.1 exchange (command, response with SW)
    ("0022C1A40F800A04007F00070202040202830101", "9000"),
    ("10860000027C0000", "7C12801095A3A016522EE98D01E76CB6B98B42C39000"),
    ("10860000457C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115"
     "B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00",
     "7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB8"
     "7A0A0C709A49DC63719363CCD13C549000"),
    ("10860000457C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B5"
     "8F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200",
     "7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB8"
     "52E111B768B326904B59A0193776F0949000"),
    ("008600000C7C0A8508C2B0BD78D94BA86600", "7C0A86083ABB9674BCE93C089000"),
]
G1_PRIVATE_KEYS = [0x7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99,
                   0xA73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595]


class ScriptedCard:
    def __init__(self, script: list[tuple[str, str]]) -> None:
        self.script = [(H(c), H(r)) for c, r in script]

    def __call__(self, apdu: bytes) -> tuple[bytes, int]:
        expected, response = self.script.pop(0)
        assert apdu.hex().upper() == expected.hex().upper()
        return response[:-2], int.from_bytes(response[-2:], "big")


def test_card_access_parsing_and_choice() -> None:
    from idverify.documents.emrtd.pace import choose, parse_card_access

    infos = parse_card_access(H("31283012060A04007F0007020204020202010202010D3012060A04007F0007020204060202010202010D"))
    assert [(i.oid, i.version, i.parameter_id) for i in infos] == [
        ("0.4.0.127.0.7.2.2.4.2.2", 2, 13), ("0.4.0.127.0.7.2.2.4.6.2", 2, 13)]
    chosen = choose(infos)
    assert chosen is not None and chosen.oid == "0.4.0.127.0.7.2.2.4.2.2"  # CAM (4.6.x) is not supported here


def test_full_pace_appendix_g1() -> None:
    from idverify.documents.emrtd.pace import establish, parse_card_access
    from idverify.documents.mrz import BacKeys

    card = ScriptedCard(APPENDIX_G1)
    (info,) = parse_card_access(H("31143012060A04007F0007020204020202010202010D"))
    keys = iter(G1_PRIVATE_KEYS)
    session = establish(card, BacKeys("T22000129", "640812", "101031"), info, scalar=lambda _curve: next(keys))
    assert card.script == []  # every published APDU was sent, byte for byte, in order
    assert (session.ks_enc, session.ks_mac) == (H("F5F0E35C0D7161EE6724EE513A0D9A7F"),
                                                H("FE251C7858B356B24514B3BD5F4297D1"))
    assert (session.ssc, session.cipher) == (0, "aes")


def test_pace_wrong_token_is_bac_failed() -> None:
    from idverify.documents.emrtd.bac import BacFailed
    from idverify.documents.emrtd.pace import establish, parse_card_access
    from idverify.documents.mrz import BacKeys

    script = [*APPENDIX_G1[:-1], (APPENDIX_G1[-1][0], "7C0A86083ABB9674BCE93C099000")]
    (info,) = parse_card_access(H("31143012060A04007F0007020204020202010202010D"))
    keys = iter(G1_PRIVATE_KEYS)
    with pytest.raises(BacFailed):
        establish(ScriptedCard(script), BacKeys("T22000129", "640812", "101031"), info,
                  scalar=lambda _curve: next(keys))
