"""Machine-readable zones (ICAO 9303 parts 3–6): check digits, TD1/TD2/TD3 parsing, and BAC key input.

This module owns the MRZ text format only. It is used three ways: to parse DG1 read from an eMRTD chip, to
build the Basic Access Control key input from what a nurse types (document number, birth date, expiry), and
later to check OCR output from a data-page scan. It knows nothing of chips, readers or patients, and it never
logs: every field it handles is personal data.

Dates stay as ``YYMMDD`` strings here because that is what the MRZ and BAC use; :func:`mrz_date` turns one
into a :class:`datetime.date` with the century rule for its kind (birth dates are in the past, expiry dates
are in the future within 50 years).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from idverify.errors import ValidationFailed

_WEIGHTS = (7, 3, 1)
_MRZ_CHARS = re.compile(r"^[A-Z0-9<]*$")
_DOC_NUMBER = re.compile(r"^[A-Z0-9<]{1,22}$")
_YYMMDD = re.compile(r"^\d{6}$")


def char_value(ch: str) -> int:
    """ICAO 9303-3 §4.9 value of one MRZ character: digits as is, ``A``..``Z`` = 10..35, ``<`` = 0."""
    if ch.isdigit():
        return int(ch)
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    if ch == "<":
        return 0
    raise ValidationFailed("MRZ contains a character outside A-Z, 0-9 and <")


def check_digit(field_text: str) -> str:
    """The check digit (``"0"``..``"9"``) of an MRZ field: weights 7, 3, 1 repeating, sum modulo 10."""
    total = sum(char_value(ch) * _WEIGHTS[i % 3] for i, ch in enumerate(field_text))
    return str(total % 10)


def _valid_yymmdd(text: str) -> bool:
    if not _YYMMDD.match(text):
        return False
    try:
        date(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return False
    return True


def mrz_date(yymmdd: str, *, kind: str, today: date | None = None) -> date | None:
    """``YYMMDD`` as a date, or None when unparsable or unknown (``<<`` placeholders).

    ``kind="birth"``: the most recent century that puts the date on or before today.
    ``kind="expiry"``: 20YY unless that is more than 50 years ahead (then 19YY), since documents expire
    within ten years and old expired documents may still be presented."""
    if not _valid_yymmdd(yymmdd):
        return None
    today = today or date.today()
    yy, mm, dd = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if kind == "birth":
        candidate = date(2000 + yy, mm, dd) if 2000 + yy <= today.year else None
        if candidate is None or candidate > today:
            try:
                candidate = date(1900 + yy, mm, dd)
            except ValueError:  # 29 February in a non-leap 19YY
                return None
        return candidate
    if kind == "expiry":
        year = 2000 + yy if 2000 + yy <= today.year + 50 else 1900 + yy
        try:
            return date(year, mm, dd)
        except ValueError:
            return None
    raise ValueError(f"unknown date kind {kind!r}")


@dataclass(frozen=True)
class BacKeys:
    """What BAC derives its keys from (ICAO 9303-11 §4.3): document number, birth date and expiry date.

    Typed by staff from the data page, or taken from a parsed MRZ. Validation rejects input that cannot be
    right (so a typo is reported before the chip is touched, not as a misleading ``bac_failed``)."""

    document_number: str
    birth_date: str  # YYMMDD
    expiry_date: str  # YYMMDD

    def __post_init__(self) -> None:
        number = self.document_number.strip().upper().replace(" ", "")
        object.__setattr__(self, "document_number", number)
        if not number or not _DOC_NUMBER.match(number) or number.strip("<") == "":
            raise ValidationFailed("document number must be 1-22 characters A-Z, 0-9 or <")
        for label, value in (("birth date", self.birth_date), ("expiry date", self.expiry_date)):
            if not _valid_yymmdd(value):
                raise ValidationFailed(f"{label} must be a valid date written YYMMDD")

    def mrz_information(self) -> str:
        """ICAO 9303-11 §9.7.2 input: number (padded to 9 with ``<``) + its check digit, birth date + check
        digit, expiry + check digit. Numbers longer than 9 characters are used whole (TD1 overflow)."""
        number = self.document_number.ljust(9, "<")
        return (
            number + check_digit(number)
            + self.birth_date + check_digit(self.birth_date)
            + self.expiry_date + check_digit(self.expiry_date)
        )


@dataclass(frozen=True)
class MrzData:
    """A parsed MRZ. ``check_results`` maps each check-digit field to whether it verified."""

    format: str  # "TD1", "TD2" or "TD3"
    document_code: str
    issuer: str
    document_number: str
    surname: str
    given_names: str
    nationality: str
    birth_date: str  # YYMMDD, may contain '<' when unknown
    sex: str  # "M", "F" or "X"
    expiry_date: str  # YYMMDD
    optional_data: str
    check_results: dict[str, bool] = field(default_factory=dict)

    @property
    def checksum_ok(self) -> bool:
        return bool(self.check_results) and all(self.check_results.values())

    @property
    def full_name(self) -> str:
        """Surname then given names, as printed in the MRZ (``ZHANG SAN``)."""
        return " ".join(part for part in (self.surname, self.given_names) if part)

    def bac_keys(self) -> BacKeys:
        return BacKeys(self.document_number, self.birth_date, self.expiry_date)


def _split_name(text: str) -> tuple[str, str]:
    primary, _, secondary = text.partition("<<")
    return primary.replace("<", " ").strip(), secondary.replace("<", " ").strip()


def _clean(text: str) -> str:
    return text.replace("<", " ").strip()


def _sex(ch: str) -> str:
    return ch if ch in ("M", "F") else "X"


def normalize_mrz(text: str) -> list[str]:
    """Split MRZ text into lines (newlines, or one unbroken string of 90, 72 or 88 characters)."""
    raw = text.strip().upper()
    lines = [line.strip().replace(" ", "") for line in raw.splitlines() if line.strip()]
    if len(lines) == 1:
        joined = lines[0]
        widths = {90: 30, 72: 36, 88: 44}
        width = widths.get(len(joined))
        if width is None:
            raise ValidationFailed("MRZ has an unexpected length")
        lines = [joined[i : i + width] for i in range(0, len(joined), width)]
    for line in lines:
        if not _MRZ_CHARS.match(line):
            raise ValidationFailed("MRZ contains a character outside A-Z, 0-9 and <")
    return lines


def _check(text: str, digit: str) -> bool:
    return (digit.isdigit() and check_digit(text) == digit) or (digit == "<" and text.strip("<") == "")


def parse_mrz(text: str) -> MrzData:
    """Parse a TD1 (3×30), TD2 (2×36) or TD3 (2×44) MRZ and verify its check digits.

    Check-digit failures do not raise: they are reported in ``check_results`` (a worn data page or an OCR
    slip must still show what was read). Structural problems raise :class:`ValidationFailed`."""
    lines = normalize_mrz(text)
    shape = tuple(len(line) for line in lines)
    if shape == (30, 30, 30):
        return _parse_td1(lines)
    if shape == (36, 36):
        return _parse_td2(lines)
    if shape == (44, 44):
        return _parse_td3(lines)
    raise ValidationFailed("MRZ is not TD1 (3x30), TD2 (2x36) or TD3 (2x44)")


def _parse_td1(lines: list[str]) -> MrzData:
    l1, l2, l3 = lines
    number, number_cd, optional1 = l1[5:14], l1[14], l1[15:30]
    checks: dict[str, bool] = {}
    if number_cd == "<" and optional1.strip("<"):
        # ICAO 9303-5 note j: long document numbers continue in the optional data; the last character
        # before the first filler is the check digit of the whole number.
        overflow = optional1.split("<", 1)[0]
        full_number = number + overflow[:-1]
        checks["document_number"] = _check(full_number, overflow[-1])
        optional1 = optional1[len(overflow) :]
        number = full_number
    else:
        checks["document_number"] = _check(number, number_cd)
    checks["birth_date"] = _check(l2[0:6], l2[6])
    checks["expiry_date"] = _check(l2[8:14], l2[14])
    checks["composite"] = _check(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    surname, given = _split_name(l3)
    return MrzData(
        format="TD1", document_code=_clean(l1[0:2]), issuer=_clean(l1[2:5]), document_number=number.strip("<"),
        surname=surname, given_names=given, nationality=_clean(l2[15:18]), birth_date=l2[0:6], sex=_sex(l2[7]),
        expiry_date=l2[8:14], optional_data=_clean(optional1 + l2[18:29]), check_results=checks,
    )


def _parse_td2(lines: list[str]) -> MrzData:
    l1, l2 = lines
    checks = {
        "document_number": _check(l2[0:9], l2[9]),
        "birth_date": _check(l2[13:19], l2[19]),
        "expiry_date": _check(l2[21:27], l2[27]),
        "composite": _check(l2[0:10] + l2[13:20] + l2[21:35], l2[35]),
    }
    surname, given = _split_name(l1[5:36])
    return MrzData(
        format="TD2", document_code=_clean(l1[0:2]), issuer=_clean(l1[2:5]), document_number=l2[0:9].strip("<"),
        surname=surname, given_names=given, nationality=_clean(l2[10:13]), birth_date=l2[13:19],
        sex=_sex(l2[20]), expiry_date=l2[21:27], optional_data=_clean(l2[28:35]), check_results=checks,
    )


def _parse_td3(lines: list[str]) -> MrzData:
    l1, l2 = lines
    checks = {
        "document_number": _check(l2[0:9], l2[9]),
        "birth_date": _check(l2[13:19], l2[19]),
        "expiry_date": _check(l2[21:27], l2[27]),
        "optional_data": _check(l2[28:42], l2[42]),
        "composite": _check(l2[0:10] + l2[13:20] + l2[21:43], l2[43]),
    }
    surname, given = _split_name(l1[5:44])
    return MrzData(
        format="TD3", document_code=_clean(l1[0:2]), issuer=_clean(l1[2:5]), document_number=l2[0:9].strip("<"),
        surname=surname, given_names=given, nationality=_clean(l2[10:13]), birth_date=l2[13:19],
        sex=_sex(l2[20]), expiry_date=l2[21:27], optional_data=_clean(l2[28:42]), check_results=checks,
    )
