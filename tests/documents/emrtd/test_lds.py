"""LDS parsing: EF.COM (ICAO example), DG1, DG2 with JPEG and JPEG 2000 faces that really decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hardware_fixtures.emrtd.identity import TestIdentity, build_dg1, build_dg2, generated_face, load_photo

from idverify.documents.emrtd import lds
from idverify.documents.emrtd.tlv import iter_tlv, read_header, tlv


def test_ef_com_from_icao_worked_example() -> None:
    com = lds.parse_ef_com(bytes.fromhex("60145F0104303130365F36063034303030305C026175"))
    assert (com.lds_version, com.unicode_version, com.data_groups) == ("0106", "040000", (1, 2))  # bytes 30 31 30 36


def test_tlv_long_lengths_and_multibyte_tags() -> None:
    value = bytes(300)
    encoded = tlv(0x5F2E, value)
    assert encoded[:5] == bytes.fromhex("5F2E82012C")
    assert read_header(encoded) == (0x5F2E, 300, 5)
    assert [(t, len(v)) for t, v, _ in iter_tlv(encoded + tlv(0x99, b"\x90\x00"))] == [(0x5F2E, 300), (0x99, 2)]
    with pytest.raises(ValueError):
        list(iter_tlv(encoded[:-1]))


def test_dg1_round_trip(identity: TestIdentity) -> None:
    mrz = lds.parse_dg1(build_dg1(identity))
    assert (mrz.document_number, mrz.birth_date, mrz.expiry_date) == (
        identity.document_number, identity.birth_date, identity.expiry_date)
    assert mrz.surname == "TEST"
    assert mrz.checksum_ok


@pytest.mark.parametrize("fmt", ["jpeg", "jp2"])
def test_dg2_face_extracted_and_decoded(fmt: str) -> None:
    identity = TestIdentity(photo_format=fmt)
    image, image_type = identity.photo_bytes()
    assert image_type == (1 if fmt == "jp2" else 0)
    photo, found = lds.parse_dg2(build_dg2(identity))
    assert found == fmt
    assert photo == image
    assert lds.decode_photo_size(photo) == (240, 320)


def test_opencv_also_decodes_jpeg2000() -> None:
    import cv2

    decoded = cv2.imdecode(np.frombuffer(generated_face("jp2"), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape == (320, 240, 3)


def test_dg2_without_image_is_rejected() -> None:
    dg2 = tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + tlv(0x7F60, tlv(0x5F2E, b"FAC\x00010\x00" + bytes(40)))))
    with pytest.raises(lds.LdsError):
        lds.parse_dg2(dg2)
    with pytest.raises(lds.LdsError):
        lds.parse_dg2(b"\x61\x03abc")


def test_corrupt_image_does_not_decode() -> None:
    with pytest.raises(lds.LdsError):
        lds.decode_photo_size(b"\xff\xd8\xff" + bytes(50))


def test_real_face_photo_round_trip(shared_data: Path) -> None:
    faces = sorted((shared_data / "face" / "face_recognition_examples").rglob("*.jpg"))
    if not faces:
        pytest.skip("no JPEG faces in the shared sample data")
    photo = load_photo(faces[0])
    extracted, fmt = lds.parse_dg2(build_dg2(TestIdentity(photo=photo)))
    assert (extracted, fmt) == (photo, "jpeg")
    width, height = lds.decode_photo_size(extracted)
    assert width > 0 and height > 0
