"""ICAO 9303-11 Appendix D worked example (BAC and secure messaging), value for value.

The numbers are the published ones (also used as unit tests by JMRTD-derived projects such as
Fethbita/emrtd); nothing here is computed by the code under test and then compared with itself.
"""

from __future__ import annotations

import pytest

from idverify.documents.emrtd import crypto
from idverify.documents.emrtd.bac import BacFailed, DocumentKeys, authentication_cryptogram, complete_authentication
from idverify.documents.emrtd.sm import SecureMessaging, SecureMessagingError
from idverify.documents.mrz import BacKeys

H = bytes.fromhex
RND_IC = H("4608F91988702212")
RND_IFD = H("781723860C06C226")
K_IFD = H("0B795240CB7049B01C19B33E32804F0B")
CHIP_RESPONSE = H("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449")


@pytest.fixture
def doc_keys() -> DocumentKeys:
    return DocumentKeys.from_bac_keys(BacKeys("L898902C", "690806", "940623"))


def test_mrz_information_and_key_seed() -> None:
    info = BacKeys("L898902C", "690806", "940623").mrz_information()
    assert info == "L898902C<369080619406236"
    assert crypto.key_seed(info) == H("239AB9CB282DAF66231DC5A4DF6BFBAE")


def test_document_keys(doc_keys: DocumentKeys) -> None:
    assert doc_keys.k_enc == H("AB94FDECF2674FDFB9B391F85D7F76F2")
    assert doc_keys.k_mac == H("7962D9ECE03D1ACD4C76089DCE131543")


def test_external_authenticate_cryptogram(doc_keys: DocumentKeys) -> None:
    cmd = authentication_cryptogram(doc_keys, RND_IC, RND_IFD, K_IFD)
    assert cmd[:32] == H("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
    assert cmd[32:] == H("5F1448EEA8AD90A7")


def test_session_keys_and_ssc(doc_keys: DocumentKeys) -> None:
    session = complete_authentication(doc_keys, RND_IC, RND_IFD, K_IFD, CHIP_RESPONSE)
    assert session.ks_enc == H("979EC13B1CBFE9DCD01AB0FED307EAE5")
    assert session.ks_mac == H("F1CB1F1FB5ADF208806B89DC579DC1F8")
    assert session.ssc == 0x887022120C06C226


def test_wrong_keys_fail_mutual_authentication() -> None:
    wrong = DocumentKeys.from_bac_keys(BacKeys("L898902C", "690807", "940623"))
    with pytest.raises(BacFailed) as info:
        complete_authentication(wrong, RND_IC, RND_IFD, K_IFD, CHIP_RESPONSE)
    assert info.value.code == "bac_failed"


def test_tampered_chip_response_fails(doc_keys: DocumentKeys) -> None:
    bad = bytearray(CHIP_RESPONSE)
    bad[3] ^= 0x01
    with pytest.raises(BacFailed):
        complete_authentication(doc_keys, RND_IC, RND_IFD, K_IFD, bytes(bad))


def _session(doc_keys: DocumentKeys) -> SecureMessaging:
    return SecureMessaging(complete_authentication(doc_keys, RND_IC, RND_IFD, K_IFD, CHIP_RESPONSE))


def test_secure_messaging_exchange(doc_keys: DocumentKeys) -> None:
    sm = _session(doc_keys)
    assert sm.protect(0x00, 0xA4, 0x02, 0x0C, H("011E")) == H("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
    assert sm.unprotect(H("990290008E08FA855A5D4C50A8ED"), 0x9000) == (b"", 0x9000)
    assert sm.protect(0x00, 0xB0, 0x00, 0x00, le=4) == H("0CB000000D9701048E08ED6705417E96BA5500")
    data, sw = sm.unprotect(H("8709019FF0EC34F992265199029000 8E08AD55CC17140B2DED".replace(" ", "")), 0x9000)
    assert (data, sw) == (H("60145F01"), 0x9000)
    assert sm.protect(0x00, 0xB0, 0x00, 0x04, le=0x12) == H("0CB000040D9701128E082EA28A70F3C7B53500")
    data, sw = sm.unprotect(
        H("871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D74"), 0x9000
    )
    assert data == H("04303130365F36063034303030305C026175")
    assert sm.ssc == 0x887022120C06C22C


def test_secure_messaging_rejects_bad_response_mac(doc_keys: DocumentKeys) -> None:
    sm = _session(doc_keys)
    sm.protect(0x00, 0xA4, 0x02, 0x0C, H("011E"))
    with pytest.raises(SecureMessagingError):
        sm.unprotect(H("990290008E08FA855A5D4C50A8EE"), 0x9000)


def test_secure_messaging_rejects_replayed_response(doc_keys: DocumentKeys) -> None:
    sm = _session(doc_keys)
    sm.protect(0x00, 0xA4, 0x02, 0x0C, H("011E"))
    sm.unprotect(H("990290008E08FA855A5D4C50A8ED"), 0x9000)
    sm.protect(0x00, 0xA4, 0x02, 0x0C, H("011E"))
    with pytest.raises(SecureMessagingError):  # same bytes again: SSC moved on, MAC no longer fits
        sm.unprotect(H("990290008E08FA855A5D4C50A8ED"), 0x9000)


def test_padding_round_trip_and_parity() -> None:
    assert crypto.pad(b"") == H("8000000000000000")
    assert crypto.pad(H("0102030405060708")) == H("01020304050607088000000000000000")
    assert crypto.unpad(H("AABB800000000000")) == H("AABB")
    with pytest.raises(ValueError):
        crypto.unpad(H("AABB000000000000"))
    assert all(bin(b).count("1") % 2 == 1 for b in crypto.adjust_parity(bytes(range(256))))


def test_plain_error_status_passes_through_but_sm_errors_end_the_session(doc_keys: DocumentKeys) -> None:
    sm = _session(doc_keys)
    sm.protect(0x00, 0xA4, 0x02, 0x0C, H("0103"))
    assert sm.unprotect(b"", 0x6A82) == (b"", 0x6A82)  # file not found, unprotected by some chips
    for status in (0x6987, 0x6988, 0x9000):
        with pytest.raises(SecureMessagingError):
            sm.unprotect(b"", status)
