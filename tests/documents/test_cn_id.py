"""Chinese ID-card text block and ID-number rules (GB 11643 / ISO 7064 MOD 11-2)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idverify.documents.cn_id import (
    CardDataError,
    card_kind,
    decode_text_block,
    encode_text_block,
    id_check_char,
    id_checksum_ok,
    parse_text_block,
)

TODAY = date(2026, 11, 23)

RESIDENT = {
    "name": "李测试", "sex": "2", "nation": "01", "birth": "19900307", "address": "北京市朝阳区示例路1号",
    "id_number": "110105199003070025", "authority": "北京市公安局朝阳分局", "valid_from": "20150101",
    "valid_to": "20350101",
}


# --- ID number ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "11010519491231002x", "440524188001010014", "11010119900307803X", "110105199003070025"],
)
def test_known_valid_id_numbers(number: str) -> None:
    assert id_checksum_ok(number)


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check character (should be X)
        "440524188001010015",  # last digit off by one
        "11010519491231002",  # 17 characters
        "1101051949123100X2",  # X not in the last position
        "",
        "ABCDEFGHIJKLMNOPQR",
    ],
)
def test_known_invalid_id_numbers(number: str) -> None:
    assert not id_checksum_ok(number)


def test_check_char_of_standard_example() -> None:
    assert id_check_char("11010519491231002") == "X"
    with pytest.raises(ValueError, match="17 digits"):
        id_check_char("1234")


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.integers(0, 16), st.integers(1, 9))
def test_single_digit_change_is_detected(first17: str, pos: int, delta: int) -> None:
    number = first17 + id_check_char(first17)
    assert id_checksum_ok(number)
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1:]
    assert not id_checksum_ok(changed)  # MOD 11-2 catches every single-digit substitution


# --- text block variants --------------------------------------------------------------------------------------

def test_resident_card_parses_all_fields() -> None:
    doc = parse_text_block(encode_text_block(RESIDENT), today=TODAY)
    assert doc.document_type == "cn_resident_id"
    assert (doc.name, doc.sex, doc.nation, doc.nationality) == ("李测试", "F", "汉", "CHN")
    assert doc.birth_date == date(1990, 3, 7)
    assert doc.address == "北京市朝阳区示例路1号"
    assert doc.document_number == "110105199003070025"
    assert doc.issuer == "北京市公安局朝阳分局"
    assert (doc.valid_from, doc.valid_to, doc.long_term) == (date(2015, 1, 1), date(2035, 1, 1), False)
    assert doc.checks.checksum and not doc.checks.expired and doc.checks.passive_auth == "not_applicable"
    assert doc.checks.detail is None
    assert doc.to_summary()["photo"] == "unavailable"


def test_resident_block_is_ucs2_little_endian_at_documented_offsets() -> None:
    block = encode_text_block(RESIDENT)
    assert len(block) == 256
    assert block[0:6] == "李测试".encode("utf-16-le")
    assert block[30:32] == b"2\x00"
    assert block[122:158] == "110105199003070025".encode("utf-16-le")
    assert block[248:250] == b" \x00"  # no type flag: resident card
    assert card_kind(block) == "resident"


def test_long_term_card_never_expires() -> None:
    doc = parse_text_block(encode_text_block({**RESIDENT, "valid_to": "长期"}), today=date(2099, 1, 1))
    assert doc.long_term and doc.valid_to is None and not doc.checks.expired
    assert doc.to_summary()["valid_to"] == "long_term"


def test_expired_card_is_flagged() -> None:
    doc = parse_text_block(encode_text_block({**RESIDENT, "valid_to": "20200101"}), today=TODAY)
    assert doc.checks.expired
    assert doc.checks.checksum  # expiry is not a checksum problem


def test_hmt_residence_permit() -> None:
    record = {
        "name": "黄港测", "sex": "1", "birth": "19880101", "address": "广东省深圳市南山区样本街3号",
        "id_number": "810000198801010071", "authority": "深圳市公安局南山分局", "valid_from": "20200101",
        "valid_to": "20300101", "permit_number": "H12345678", "issue_count": "01",
    }
    block = encode_text_block(record, "hmt")
    assert block[248:250] == b"J\x00"
    kind, fields = decode_text_block(block)
    assert kind == "hmt" and fields["permit_number"] == "H12345678" and fields["issue_count"] == "01"
    doc = parse_text_block(block, today=TODAY)
    assert doc.document_type == "cn_hmt_residence_permit"
    assert (doc.sex, doc.nation, doc.nationality) == ("M", None, "CHN")
    assert doc.checks.checksum


def test_hmt_permit_with_mainland_number_fails_region_rule() -> None:
    record = {"name": "x", "sex": "2", "birth": "19900307", "id_number": "110105199003070025",
              "valid_from": "20200101", "valid_to": "20300101"}
    doc = parse_text_block(encode_text_block(record, "hmt"), today=TODAY)
    assert not doc.checks.checksum and doc.checks.detail == "hmt_region_code"


def test_foreigner_permanent_residence_2017() -> None:
    record = {
        "english_name": "TESTER, ANNA", "name": "安娜", "sex": "2", "id_number": "USA110085020311",
        "nationality": "USA", "birth": "19850203", "valid_from": "20180101", "valid_to": "20280101",
        "card_version": "01", "authority": "1100",
    }
    block = encode_text_block(record, "foreigner")
    assert block[248:250] == b"I\x00"
    doc = parse_text_block(block, today=TODAY)
    assert doc.document_type == "cn_foreigner_permanent_residence"
    assert (doc.name, doc.sex, doc.nationality, doc.nation) == ("TESTER, ANNA", "F", "USA", None)
    assert doc.birth_date == date(1985, 2, 3)
    assert doc.document_number == "USA110085020311" and doc.checks.checksum


def test_foreigner_permanent_residence_2023() -> None:
    record = {
        "name": "安娜", "english_name": "TESTER, ANNA", "sex": "2", "renewal_count": "00", "birth": "19850203",
        "id_number": "911156198502030023", "valid_from": "20240101", "valid_to": "20340101", "nationality": "USA",
    }
    doc = parse_text_block(encode_text_block(record, "foreigner2023"), today=TODAY)
    assert doc.document_type == "cn_foreigner_permanent_residence"
    assert (doc.name, doc.nationality) == ("TESTER, ANNA", "USA")
    assert doc.checks.checksum


# --- consistency failures -------------------------------------------------------------------------------------

def test_birth_date_mismatch_fails_checksum() -> None:
    doc = parse_text_block(encode_text_block({**RESIDENT, "birth": "19900308"}), today=TODAY)
    assert not doc.checks.checksum and doc.checks.detail == "birth_date_mismatch"


def test_sex_parity_mismatch_fails_checksum() -> None:
    doc = parse_text_block(encode_text_block({**RESIDENT, "sex": "1"}), today=TODAY)
    assert not doc.checks.checksum and doc.checks.detail == "sex_mismatch"


def test_bad_check_character_fails_checksum() -> None:
    doc = parse_text_block(encode_text_block({**RESIDENT, "id_number": "110105199003070026"}), today=TODAY)
    assert not doc.checks.checksum and "number_check_character" in (doc.checks.detail or "")


def test_unknown_nation_code_is_reported_not_guessed() -> None:
    doc = parse_text_block(encode_text_block({**RESIDENT, "nation": "77"}), today=TODAY)
    assert doc.nation is None and "nation_code_unknown" in (doc.checks.detail or "")


def test_inverted_validity_is_reported() -> None:
    doc = parse_text_block(
        encode_text_block({**RESIDENT, "valid_from": "20360101", "valid_to": "20350101"}), today=TODAY
    )
    assert "validity_inverted" in (doc.checks.detail or "")


def test_wrong_block_size_is_rejected() -> None:
    with pytest.raises(CardDataError) as err:
        parse_text_block(b"\x20\x00" * 100)
    assert err.value.code == "card_data_invalid"


def test_field_too_long_is_refused_by_encoder() -> None:
    with pytest.raises(ValueError, match="name"):
        encode_text_block({**RESIDENT, "name": "长" * 16})


_cjk = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=15)


@given(name=_cjk, address=st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                                  max_size=35))
def test_text_block_round_trip(name: str, address: str) -> None:
    kind, fields = decode_text_block(encode_text_block({**RESIDENT, "name": name, "address": address}))
    assert kind == "resident"
    assert fields["name"] == name and fields["address"] == address
    assert fields["id_number"] == RESIDENT["id_number"]
