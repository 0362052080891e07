"""LDS file contents (ICAO 9303-10): EF.COM, DG1 (MRZ) and DG2 (face image).

Owns the file identifiers and tags, and parsing of the three files this daemon needs. DG2's face image is
returned as the encoded bytes (JPEG or JPEG 2000) found inside the ISO 19794-5 / ISO 39794-5 biometric data
block; decoding is the face core's business, :func:`decode_photo_size` only proves the bytes are an image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from idverify.documents.emrtd.tlv import find, iter_tlv, read_header
from idverify.documents.mrz import MrzData, parse_mrz

AID_EMRTD = bytes.fromhex("A0000002471001")
FID_COM = 0x011E
FID_SOD = 0x011D
#: data group number -> (file identifier, outer tag)
DATA_GROUPS: dict[int, tuple[int, int]] = {
    1: (0x0101, 0x61), 2: (0x0102, 0x75), 3: (0x0103, 0x63), 4: (0x0104, 0x76), 5: (0x0105, 0x65),
    6: (0x0106, 0x66), 7: (0x0107, 0x67), 8: (0x0108, 0x68), 9: (0x0109, 0x69), 10: (0x010A, 0x6A),
    11: (0x010B, 0x6B), 12: (0x010C, 0x6C), 13: (0x010D, 0x6D), 14: (0x010E, 0x6E), 15: (0x010F, 0x6F),
    16: (0x0110, 0x70),
}
_TAG_TO_DG = {tag: number for number, (_fid, tag) in DATA_GROUPS.items()}

JPEG_SOI = b"\xff\xd8\xff"
JP2_SIGNATURE = bytes.fromhex("0000000C6A5020200D0A870A")
J2K_CODESTREAM = bytes.fromhex("FF4FFF51")


class LdsError(ValueError):
    """A file's content does not have the structure ICAO 9303-10 prescribes."""


@dataclass(frozen=True)
class EfCom:
    lds_version: str | None
    unicode_version: str | None
    data_groups: tuple[int, ...]


def parse_ef_com(data: bytes) -> EfCom:
    try:
        tag, length, header = read_header(data)
        if tag != 0x60:
            raise LdsError("EF.COM does not start with tag 60")
        body = data[header : header + length]
        lds = find(body, 0x5F01)
        uni = find(body, 0x5F36)
        tags = find(body, 0x5C) or b""
    except ValueError as exc:
        raise LdsError("EF.COM is malformed") from exc
    groups = tuple(sorted(_TAG_TO_DG[t] for t in tags if t in _TAG_TO_DG))
    return EfCom(lds.decode("ascii", "replace") if lds else None, uni.decode("ascii", "replace") if uni else None,
                 groups)


def parse_dg1(data: bytes) -> MrzData:
    """DG1 = ``61 { 5F1F <MRZ> }``; the MRZ is TD1, TD2 or TD3 written without line breaks."""
    try:
        tag, length, header = read_header(data)
        if tag != 0x61:
            raise LdsError("DG1 does not start with tag 61")
        mrz = find(data[header : header + length], 0x5F1F)
    except ValueError as exc:
        raise LdsError("DG1 is malformed") from exc
    if mrz is None:
        raise LdsError("DG1 has no MRZ data object")
    return parse_mrz(mrz.decode("ascii"))


def _biometric_data_blocks(value: bytes) -> list[bytes]:
    """Values of every 5F2E/7F2E biometric data block, descending through 7F61/7F60 templates."""
    found: list[bytes] = []
    for tag, inner, _raw in iter_tlv(value):
        if tag in (0x5F2E, 0x7F2E):
            found.append(inner)
        elif tag in (0x7F61, 0x7F60):
            found.extend(_biometric_data_blocks(inner))
    return found


def image_format(blob: bytes) -> str | None:
    if blob.startswith(JPEG_SOI):
        return "jpeg"
    if blob.startswith(JP2_SIGNATURE) or blob.startswith(J2K_CODESTREAM):
        return "jp2"
    return None


def parse_dg2(data: bytes) -> tuple[bytes, str]:
    """The first face image in DG2 and its format (``"jpeg"`` or ``"jp2"``).

    The ISO 19794-5 header before the image has a variable length (facial feature points, optional
    blocks), so the image is found by its signature rather than by offset arithmetic."""
    try:
        tag, length, header = read_header(data)
        if tag != 0x75:
            raise LdsError("DG2 does not start with tag 75")
        blocks = _biometric_data_blocks(data[header : header + length])
    except ValueError as exc:
        raise LdsError("DG2 is malformed") from exc
    for block in blocks:
        starts = [i for i in (block.find(JPEG_SOI), block.find(JP2_SIGNATURE), block.find(J2K_CODESTREAM)) if i >= 0]
        if starts:
            image = block[min(starts) :]
            fmt = image_format(image)
            if fmt is not None:
                return image, fmt
    raise LdsError("DG2 holds no JPEG or JPEG 2000 face image")


def decode_photo_size(image: bytes) -> tuple[int, int]:
    """(width, height) after fully decoding the image with Pillow (JPEG and JPEG 2000 via its openjpeg).

    Raises LdsError when the bytes do not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image)) as img:
            img.load()
            return img.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise LdsError("face image does not decode") from exc
