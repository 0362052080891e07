"""Chinese identity cards read through GA 467 readers: the 256-byte UCS-2 text block and the ID-number rules.

Owns: decoding (and, for simulators and tests, encoding) of the text block of the resident ID card (居民身份证),
the Hong Kong/Macau/Taiwan residents' residence permit (港澳台居民居住证, flag ``J``) and the foreigner's permanent
residence card (2017 ``I`` and 2023 ``Y`` layouts); the GB 11643 check character (ISO 7064 MOD 11-2); and the
consistency checks between the number, the birth date and the sex code. Knows nothing of serial ports (that is
:mod:`idverify.devices.ga467`) nor of patients.

Layouts follow the GA 467 reader vendors' SDK headers (the 256-byte ``IDCARD`` text-block structs; several open-source
reader programs agree on every offset); the 2023 ``Y`` layout is not verified against a real card. Errors never quote
field values: they reach logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from idverify.documents.model import DocumentChecks, DocumentType, IdentityDocument, Sex
from idverify.errors import ErrorCode, IdverifyError

TEXT_BLOCK_SIZE = 256
CARD_TYPE_OFFSET = 248
LONG_TERM = "长期"

#: GB 11643 weights for the 17 leading digits, and the check character for (weighted sum mod 11).
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_PR2017_RE = re.compile(r"^[A-Z]{3}\d{12}$")

#: GB 3304 nation (民族) codes, official names.
NATIONS: dict[str, str] = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝", "08": "壮",
    "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白", "15": "土家", "16": "哈尼",
    "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤", "22": "畲", "23": "高山", "24": "拉祜",
    "25": "水", "26": "东乡", "27": "纳西", "28": "景颇", "29": "柯尔克孜", "30": "土", "31": "达斡尔",
    "32": "仫佬", "33": "羌", "34": "布朗", "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌",
    "40": "普米", "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂",
    "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春", "53": "赫哲",
    "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他", "98": "外国血统中国籍人士",
}

CardKind = Literal["resident", "hmt", "foreigner", "foreigner2023"]
_FLAG_TO_KIND: dict[str, CardKind] = {"J": "hmt", "I": "foreigner", "Y": "foreigner2023"}
_KIND_TO_FLAG: dict[CardKind, str] = {v: k for k, v in _FLAG_TO_KIND.items()}

# (field, offset, length in bytes) per layout; lengths are in bytes of UCS-2LE (2 per character).
_LAYOUTS: dict[CardKind, tuple[tuple[str, int, int], ...]] = {
    "resident": (
        ("name", 0, 30), ("sex", 30, 2), ("nation", 32, 4), ("birth", 36, 16), ("address", 52, 70),
        ("id_number", 122, 36), ("authority", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16),
    ),
    "hmt": (
        ("name", 0, 30), ("sex", 30, 2), ("birth", 36, 16), ("address", 52, 70), ("id_number", 122, 36),
        ("authority", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("permit_number", 220, 18),
        ("issue_count", 238, 4),
    ),
    "foreigner": (
        ("english_name", 0, 120), ("sex", 120, 2), ("id_number", 122, 30), ("nationality", 152, 6),
        ("name", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth", 220, 16),
        ("card_version", 236, 4), ("authority", 240, 8),
    ),
    "foreigner2023": (
        ("name", 0, 30), ("sex", 30, 2), ("renewal_count", 32, 4), ("birth", 36, 16), ("english_name", 52, 70),
        ("id_number", 122, 36), ("valid_from", 188, 16), ("valid_to", 204, 16), ("english_name_2", 220, 22),
        ("nationality", 242, 6),
    ),
}
_DOCUMENT_TYPES: dict[CardKind, DocumentType] = {
    "resident": "cn_resident_id",
    "hmt": "cn_hmt_residence_permit",
    "foreigner": "cn_foreigner_permanent_residence",
    "foreigner2023": "cn_foreigner_permanent_residence",
}


class CardDataError(IdverifyError):
    """The text block cannot be decoded (wrong size, not UCS-2). The card or reader is faulty: read it again."""

    code = ErrorCode.CARD_DATA_INVALID
    status_code = 422


# --- ID number -------------------------------------------------------------------------------------------------

def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("expected 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_checksum_ok(number: str) -> bool:
    """True when ``number`` is 17 digits plus the right MOD 11-2 check character (``X`` upper or lower case)."""
    number = number.upper()
    return bool(_ID_RE.match(number)) and id_check_char(number[:17]) == number[17]


def id_number_problems(number: str, *, birth_date: date | None, sex: str | None, hmt: bool = False) -> list[str]:
    """What is wrong with an 18-character ID number (resident ID, or with ``hmt`` the HK/Macau/Taiwan residence
    permit), as rule names — never values: ``number_check_character`` (GB 11643 MOD 11-2), ``birth_date_mismatch``
    (digits 7–14 against ``birth_date``), ``sex_mismatch`` (digit 17: odd male, even female; only for F/M),
    ``hmt_region_code`` (permits start 81/82/83). Empty: consistent. Used for cards read here and for numbers
    typed in or sent by the HIS, so a mistyped or misattributed number is caught the same way everywhere."""
    number = number.upper()
    if not id_checksum_ok(number):
        return ["number_check_character"]
    if birth_date is not None and number[6:14] != birth_date.strftime("%Y%m%d"):
        return ["birth_date_mismatch"]
    if sex in ("M", "F") and (int(number[16]) % 2 == 1) != (sex == "M"):
        return ["sex_mismatch"]
    if hmt and number[:2] not in ("81", "82", "83"):
        return ["hmt_region_code"]
    return []


def parse_yyyymmdd(text: str) -> date | None:
    """A ``YYYYMMDD`` date, or None when it is not one (blank, malformed, impossible day)."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


_SEX_CODES: dict[str, Sex] = {"1": "M", "2": "F", "0": "X", "9": "X"}


def _sex(code: str) -> Sex | None:
    return _SEX_CODES.get(code)


# --- text block --------------------------------------------------------------------------------------------------

def card_kind(block: bytes) -> CardKind:
    """Which layout a text block uses, from the UCS-2 flag at offset 248 (space or NUL: resident ID)."""
    flag = block[CARD_TYPE_OFFSET:CARD_TYPE_OFFSET + 2].decode("utf-16-le", errors="replace")
    return _FLAG_TO_KIND.get(flag, "resident")


def decode_text_block(block: bytes) -> tuple[CardKind, dict[str, str]]:
    """Split a text block into its raw fields (stripped strings), keyed as in the layout tables."""
    if len(block) != TEXT_BLOCK_SIZE:
        raise CardDataError(f"text block has {len(block)} bytes, expected {TEXT_BLOCK_SIZE}")
    kind = card_kind(block)
    fields: dict[str, str] = {}
    for name, offset, length in _LAYOUTS[kind]:
        try:
            text = block[offset:offset + length].decode("utf-16-le")
        except UnicodeDecodeError:
            raise CardDataError(f"field {name} is not valid UCS-2") from None
        fields[name] = text.replace("\x00", " ").strip()
    return kind, fields


def encode_text_block(record: Mapping[str, str], kind: CardKind = "resident") -> bytes:
    """Build a text block from raw field strings (the inverse of :func:`decode_text_block`).

    Used by the GA 467 simulator and by tests; a real reader never writes cards. Fields longer than their slot
    raise ValueError rather than being cut silently."""
    block = bytearray(" ".encode("utf-16-le") * (TEXT_BLOCK_SIZE // 2))
    for name, offset, length in _LAYOUTS[kind]:
        value = record.get(name, "")
        raw = value.encode("utf-16-le")
        if len(raw) > length:
            raise ValueError(f"field {name} longer than {length // 2} characters")
        block[offset:offset + len(raw)] = raw
    if kind != "resident":
        block[CARD_TYPE_OFFSET:CARD_TYPE_OFFSET + 2] = _KIND_TO_FLAG[kind].encode("utf-16-le")
    return bytes(block)


@dataclass(frozen=True)
class _Validity:
    valid_from: date | None
    valid_to: date | None
    long_term: bool


def _validity(fields: Mapping[str, str], problems: list[str]) -> _Validity:
    valid_from = parse_yyyymmdd(fields.get("valid_from", ""))
    raw_to = fields.get("valid_to", "")
    long_term = raw_to.startswith(LONG_TERM)
    valid_to = None if long_term else parse_yyyymmdd(raw_to)
    if valid_from is None:
        problems.append("valid_from_malformed")
    if not long_term and valid_to is None:
        problems.append("valid_to_malformed")
    if valid_from and valid_to and valid_from > valid_to:
        problems.append("validity_inverted")
    return _Validity(valid_from, valid_to, long_term)


def parse_text_block(
    block: bytes,
    *,
    photo: bytes | None = None,
    photo_format: str | None = None,
    today: date | None = None,
    source: str | None = None,
) -> IdentityDocument:
    """Parse a GA 467 text block into an :class:`IdentityDocument` with its checks.

    ``checks.checksum`` is true only when the number's check character is right *and* it agrees with the birth
    date and the sex code printed on the card (for the 18-character numbers); ``checks.detail`` names each
    failed rule (never the values). ``expired`` compares valid_to with ``today`` (long-term cards never expire).
    ``photo`` is the raw 1024-byte WLT unless a decoder produced an image (``photo_format`` then says which)."""
    kind, f = decode_text_block(block)
    today = today or date.today()
    problems: list[str] = []
    number = f.get("id_number", "").upper()
    birth = parse_yyyymmdd(f.get("birth", ""))
    if birth is None:
        problems.append("birth_date_malformed")
    sex = _sex(f.get("sex", ""))
    if sex is None:
        problems.append("sex_code_unknown")

    if kind == "foreigner":
        # 2017 card: 3 letters + 12 digits; no public check-digit rule, so only the format is checked.
        checksum = bool(_PR2017_RE.match(number))
        if not checksum:
            problems.append("number_format")
    else:
        number_problems = id_number_problems(number, birth_date=birth, sex=sex, hmt=kind == "hmt")
        checksum = not number_problems
        problems.extend(number_problems)

    nation: str | None = None
    if kind == "resident":
        code = f.get("nation", "")
        nation = NATIONS.get(code)
        if nation is None:
            problems.append("nation_code_unknown")

    validity = _validity(f, problems)
    expired = bool(validity.valid_to and validity.valid_to < today)

    name = f.get("name") or None
    if kind in ("foreigner", "foreigner2023"):
        english = (f.get("english_name", "") + f.get("english_name_2", "")).strip()
        name = english or name
    nationality = "CHN" if kind in ("resident", "hmt") else (f.get("nationality") or None)

    return IdentityDocument(
        document_type=_DOCUMENT_TYPES[kind],
        document_number=number or None,
        name=name,
        sex=sex,
        birth_date=birth,
        nation=nation,
        nationality=nationality,
        address=f.get("address") or None,
        issuer=f.get("authority") or None,
        valid_from=validity.valid_from,
        valid_to=validity.valid_to,
        long_term=validity.long_term,
        photo=photo,
        photo_format=photo_format if photo is not None else None,
        checks=DocumentChecks(
            checksum=checksum,
            expired=expired,
            passive_auth="not_applicable",
            detail=",".join(problems) or None,
        ),
        source=source,
    )
