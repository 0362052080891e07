"""MRZ check digits and TD1/TD2/TD3 parsing with the ICAO 9303 specimen MRZs."""

from __future__ import annotations

from datetime import date

import pytest

from idverify.documents.emrtd import crypto
from idverify.documents.mrz import BacKeys, check_digit, mrz_date, parse_mrz
from idverify.errors import ValidationFailed

TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C<3UTO6908061F9406236ZE184226B<<<<<14"
TD1 = "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<"
TD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"


@pytest.mark.parametrize(("field", "digit"), [("L898902C<", "3"), ("690806", "1"), ("940623", "6"),
                                               ("D23145890734", "9"), ("<<<<<<", "0")])
def test_check_digit(field: str, digit: str) -> None:
    assert check_digit(field) == digit


def test_td3_specimen() -> None:
    mrz = parse_mrz(TD3)
    assert (mrz.format, mrz.document_code, mrz.issuer) == ("TD3", "P", "UTO")
    assert (mrz.surname, mrz.given_names, mrz.full_name) == ("ERIKSSON", "ANNA MARIA", "ERIKSSON ANNA MARIA")
    assert (mrz.document_number, mrz.nationality, mrz.sex) == ("L898902C", "UTO", "F")
    assert (mrz.birth_date, mrz.expiry_date, mrz.optional_data) == ("690806", "940623", "ZE184226B")
    assert mrz.checksum_ok
    assert mrz.bac_keys().mrz_information() == "L898902C<369080619406236"


def test_td3_as_one_string_and_lowercase() -> None:
    assert parse_mrz(TD3.replace("\n", "").lower()) == parse_mrz(TD3)


def test_td1_long_document_number() -> None:
    mrz = parse_mrz(TD1)
    assert mrz.format == "TD1"
    assert mrz.document_number == "D23145890734"
    assert (mrz.surname, mrz.given_names, mrz.sex) == ("STEVENSON", "PETER JOHN", "M")
    assert mrz.checksum_ok
    # Published key seed for this specimen (ZeroPass dmrtd bac_test): the whole 12-character number is used.
    seed = crypto.key_seed(mrz.bac_keys().mrz_information())
    assert seed == bytes.fromhex("b366ad857ddca2b08c0e299811714730")


def test_td2_specimen() -> None:
    mrz = parse_mrz(TD2)
    assert (mrz.format, mrz.document_number, mrz.birth_date, mrz.expiry_date) == ("TD2", "D23145890", "740812",
                                                                                  "120415")
    assert mrz.checksum_ok


def test_bad_check_digits_are_reported_not_raised() -> None:
    bad = TD3.replace("6908061F", "6908062F")
    mrz = parse_mrz(bad)
    assert not mrz.checksum_ok
    assert mrz.check_results["birth_date"] is False
    assert mrz.check_results["document_number"] is True


@pytest.mark.parametrize("text", ["", "P<UTO", "L898902C<3UTO6908061F9406236ZE184226B<<<<<1!\n" * 2])
def test_structurally_wrong_mrz_raises(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_mrz(text)


def test_bac_keys_validation() -> None:
    keys = BacKeys(" l898902c ", "690806", "940623")
    assert keys.document_number == "L898902C"
    with pytest.raises(ValidationFailed):
        BacKeys("L898902C", "691306", "940623")  # month 13
    with pytest.raises(ValidationFailed):
        BacKeys("L898902C", "690806", "94062")
    with pytest.raises(ValidationFailed):
        BacKeys("", "690806", "940623")
    with pytest.raises(ValidationFailed):
        BacKeys("L8989-02C", "690806", "940623")


def test_century_rules() -> None:
    today = date(2026, 11, 23)
    assert mrz_date("690806", kind="birth", today=today) == date(1969, 8, 6)
    assert mrz_date("100101", kind="birth", today=today) == date(2010, 1, 1)
    assert mrz_date("261231", kind="birth", today=today) == date(1926, 12, 31)  # not in the future
    assert mrz_date("310101", kind="expiry", today=today) == date(2031, 1, 1)
    assert mrz_date("940623", kind="expiry", today=today) == date(1994, 6, 23)
    assert mrz_date("<<<<<<", kind="birth", today=today) is None
