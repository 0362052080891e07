"""The test identity on the virtual chip and the LDS files built from it (EF.COM, DG1, DG2, EF.SOD).

Synthetic people only ("TEST<<PATIENT"): the MRZ is generated with correct check digits from the fields
below. The face is a generated drawing unless a photo file is given (tests may pass a public sample image
from ../shared/data; nothing is copied into the repository).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from hardware_fixtures.emrtd.pki import TestPki
from idverify.documents.emrtd.tlv import tlv
from idverify.documents.mrz import check_digit


def _yymmdd(d: date) -> str:
    return d.strftime("%y%m%d")


@dataclass
class TestIdentity:
    __test__ = False  # not a pytest test class
    document_number: str = "E01234567"
    surname: str = "TEST"
    given_names: str = "PATIENT ONE"
    nationality: str = "UTO"
    issuer: str = "UTO"
    sex: str = "F"
    birth_date: str = "900115"  # YYMMDD
    expiry_date: str = field(default_factory=lambda: _yymmdd(date.today() + timedelta(days=5 * 365)))
    photo: bytes | None = None  # JPEG or JPEG 2000 bytes; None = generated JPEG
    photo_format: str = "jpeg"  # of the generated photo: "jpeg" or "jp2"
    mrz_format: str = "TD3"  # "TD3" passport, or "TD1" (ID-card size: travel permits, residence cards)
    document_code: str = "P"  # "P" passport; "C"/"CS" … for permits

    def mrz_lines(self) -> tuple[str, ...]:
        """The MRZ with correct check digits: TD3 (passport, 2x44) or TD1 (card or permit, 3x30)."""
        name = (self.surname.replace(" ", "<") + "<<" + self.given_names.replace(" ", "<")).upper()
        if self.mrz_format == "TD1":
            return self._td1_lines(name)
        line1 = f"{self.document_code:<<2}{self.issuer:<<3}{name}"[:44].ljust(44, "<")
        number = self.document_number.ljust(9, "<")[:9]
        optional = "".ljust(14, "<")
        line2 = (
            number + check_digit(number) + self.nationality.ljust(3, "<") + self.birth_date
            + check_digit(self.birth_date) + self.sex + self.expiry_date + check_digit(self.expiry_date)
            + optional + check_digit(optional)
        )
        composite = line2[0:10] + line2[13:20] + line2[21:43]
        return line1, line2 + check_digit(composite)

    def _td1_lines(self, name: str) -> tuple[str, str, str]:
        number = self.document_number.ljust(9, "<")
        # ICAO 9303-5: a longer number continues in the optional data, followed by its check digit.
        overflow = "<" + number[9:] if len(number) > 9 else ""
        head = number[:9] + overflow + check_digit(number)
        line1 = f"{self.document_code:<<2}{self.issuer:<<3}{head}".ljust(30, "<")[:30]
        line2 = (
            self.birth_date + check_digit(self.birth_date) + self.sex + self.expiry_date
            + check_digit(self.expiry_date) + self.nationality.ljust(3, "<") + "".ljust(11, "<")
        )
        composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
        return line1, line2 + check_digit(composite), name[:30].ljust(30, "<")

    def photo_bytes(self) -> tuple[bytes, int]:
        """(image bytes, ISO 19794-5 image data type: 0 JPEG, 1 JPEG 2000)."""
        if self.photo is not None:
            return self.photo, 1 if not self.photo.startswith(b"\xff\xd8") else 0
        return generated_face(self.photo_format), 1 if self.photo_format == "jp2" else 0


def generated_face(fmt: str = "jpeg", size: tuple[int, int] = (240, 320)) -> bytes:
    """A plain face-like drawing (not a real person), encoded as JPEG or JPEG 2000 with Pillow."""
    from PIL import Image, ImageDraw

    width, height = size
    img = Image.new("RGB", size, (200, 210, 225))
    draw = ImageDraw.Draw(img)
    draw.ellipse((width * 0.2, height * 0.15, width * 0.8, height * 0.85), fill=(225, 190, 160))
    for ex in (0.38, 0.62):
        draw.ellipse((width * ex - 12, height * 0.42 - 6, width * ex + 12, height * 0.42 + 6), fill=(40, 30, 30))
    draw.line((width * 0.4, height * 0.68, width * 0.6, height * 0.68), fill=(150, 60, 60), width=4)
    out = io.BytesIO()
    if fmt == "jp2":
        img.save(out, format="JPEG2000")
    else:
        img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def load_photo(path: Path, max_bytes: int = 30000) -> bytes:
    """A photo file as JPEG (or JPEG 2000) bytes that fit a chip read with short READ BINARY (< 32 KiB):
    small JPEG/JP2 files are used as they are, others are scaled to ICAO-like 420x525 and re-encoded."""
    raw = path.read_bytes()
    if len(raw) <= max_bytes and (raw.startswith(b"\xff\xd8\xff") or raw.startswith(bytes.fromhex("0000000C6A502020"))):
        return raw
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as img:
        rgb = img.convert("RGB")
        rgb.thumbnail((420, 525))
        for quality in (85, 70, 55, 40):
            out = io.BytesIO()
            rgb.save(out, format="JPEG", quality=quality)
            if out.tell() <= max_bytes:
                break
    return out.getvalue()


def _iso19794_5(image: bytes, image_type: int, width: int = 240, height: int = 320) -> bytes:
    """A minimal ISO/IEC 19794-5:2005 facial record: header, one facial information block, image info."""
    facial_block_len = 20 + 12 + len(image)
    header = b"FAC\x00" + b"010\x00" + (14 + facial_block_len).to_bytes(4, "big") + (1).to_bytes(2, "big")
    facial = (
        facial_block_len.to_bytes(4, "big") + (0).to_bytes(2, "big")  # no feature points
        + b"\x00\x00\x00" + b"\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00" + b"\x00\x00\x00"
    )
    image_info = (
        b"\x01" + bytes([image_type]) + width.to_bytes(2, "big") + height.to_bytes(2, "big")
        + b"\x01" + b"\x02" + (0).to_bytes(2, "big") + (0).to_bytes(2, "big")
    )
    return header + facial + image_info + image


def build_dg1(identity: TestIdentity) -> bytes:
    return tlv(0x61, tlv(0x5F1F, "".join(identity.mrz_lines()).encode("ascii")))


def build_dg2(identity: TestIdentity) -> bytes:
    image, image_type = identity.photo_bytes()
    header_template = tlv(0xA1, tlv(0x80, b"\x01\x01") + tlv(0x81, b"\x02") + tlv(0x87, b"\x01\x01")
                          + tlv(0x88, b"\x00\x08"))
    instance = tlv(0x7F60, header_template + tlv(0x5F2E, _iso19794_5(image, image_type)))
    return tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + instance))


def build_ef_com() -> bytes:
    return tlv(0x60, tlv(0x5F01, b"0107") + tlv(0x5F36, b"040000") + tlv(0x5C, b"\x61\x75"))


def build_files(identity: TestIdentity, pki: TestPki | None, *, tamper_dg: int | None = None) -> dict[int, bytes]:
    """File identifier → content. The SOD is signed over the honest data groups; ``tamper_dg`` then alters
    that data group afterwards (a forged name in DG1, a changed pixel byte in DG2), as a forger would."""
    dgs = {1: build_dg1(identity), 2: build_dg2(identity)}
    files = {0x011E: build_ef_com(), 0x0101: dgs[1], 0x0102: dgs[2]}
    if pki is not None:
        files[0x011D] = pki.build_sod(dgs)
    if tamper_dg == 1:
        # Change one letter of the surname: check digits do not cover names, only the SOD does.
        dg1 = bytearray(dgs[1])
        pos = dg1.index(identity.surname.replace(" ", "<").encode("ascii"))
        dg1[pos] = ord("X") if dg1[pos] != ord("X") else ord("Y")
        files[0x0101] = bytes(dg1)
    elif tamper_dg == 2:
        dg2 = bytearray(dgs[2])
        dg2[len(dg2) - len(dg2) // 4] ^= 0x01  # one bit inside the image data
        files[0x0102] = bytes(dg2)
    elif tamper_dg is not None:
        raise ValueError("tamper_dg must be 1 or 2")
    return files
