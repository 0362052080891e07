"""ZhianTec/R30x sensor: packet codec, image packing, and the driver over a pty against the simulator
(plus a cross-check of the simulator with the unmodified pyfingerprint library)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hardware_fixtures.zhiantec import ZhianTecSimulator, fit_to_sensor
from hypothesis import given
from hypothesis import strategies as st

from idverify.devices.zhiantec import (
    GEN_IMG,
    PID_ACK,
    PID_COMMAND,
    UP_IMAGE,
    PacketDecoder,
    ZhianTecSensor,
    encode_packet,
    pack_image,
    unpack_image,
)
from idverify.errors import DeviceError

# --- codec ------------------------------------------------------------------------------------------------------


def test_verify_password_packet_bytes() -> None:
    # EF01, address FFFFFFFF, PID 01, LEN 0007, VfyPwd 13 + password 00000000, SUM 001B.
    assert encode_packet(PID_COMMAND, bytes([0x13, 0, 0, 0, 0])).hex().upper() == "EF01FFFFFFFF010007130000000000" "1B"


@given(st.sampled_from([PID_COMMAND, 0x02, PID_ACK, 0x08]), st.binary(min_size=1, max_size=256), st.integers(1, 40))
def test_packet_round_trip_in_pieces(pid: int, payload: bytes, step: int) -> None:
    stream = b"\x00\x17" + encode_packet(pid, payload)
    dec = PacketDecoder()
    got = []
    for i in range(0, len(stream), step):
        dec.feed(stream[i:i + step])
        pkt = dec.next_packet()
        if pkt:
            got.append(pkt)
    assert got == [(pid, payload)]


@given(st.binary(min_size=1, max_size=128), st.integers(min_value=0), st.integers(1, 255))
def test_corrupted_packet_is_a_checksum_error(payload: bytes, where: int, flip: int) -> None:
    pkt = bytearray(encode_packet(PID_ACK, payload))
    pos = 9 + where % (len(pkt) - 9)
    pkt[pos] ^= flip
    dec = PacketDecoder()
    dec.feed(bytes(pkt))
    with pytest.raises(DeviceError) as err:
        dec.next_packet()
    assert err.value.code == "checksum_error"


def test_pack_unpack_quantises_to_4_bits() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (288, 256), dtype=np.uint8)
    packed = pack_image(image)
    assert len(packed) == 36864
    # Left pixel in the high nibble.
    assert packed[0] == ((image[0, 0] >> 4) << 4) | (image[0, 1] >> 4)
    assert np.array_equal(unpack_image(packed), (image >> 4) * 17)


def test_short_image_stream_is_truncated_error() -> None:
    with pytest.raises(DeviceError) as err:
        unpack_image(bytes(1000))
    assert err.value.code == "frame_truncated"


def test_fit_to_sensor_crops_and_pads() -> None:
    tall = np.zeros((384, 288), np.uint8)
    tall[192, 144] = 200
    out = fit_to_sensor(tall)
    assert out.shape == (288, 256) and out[144, 128] == 200
    small = fit_to_sensor(np.zeros((100, 100), np.uint8))
    assert small.shape == (288, 256) and small[0, 0] == 255 and small[144, 128] == 0


# --- driver over a pty ------------------------------------------------------------------------------------------


def _capture_code(sim: ZhianTecSimulator, timeout: float = 1.0) -> str:
    with pytest.raises(DeviceError) as err, ZhianTecSensor(sim.port) as sensor:
        sensor.capture_image(timeout)
    return err.value.code


def test_capture_uploads_the_placed_image(zhiantec_sim: ZhianTecSimulator) -> None:
    zhiantec_sim.place(2)
    with ZhianTecSensor(zhiantec_sim.port) as sensor:
        image = sensor.capture_image(2.0)
    assert image.shape == (288, 256) and image.dtype == np.uint8
    assert np.array_equal(image, zhiantec_sim.expected_image(2))
    assert zhiantec_sim.instructions[:3] == [0x13, GEN_IMG, UP_IMAGE]


def test_no_finger_is_capture_timeout(zhiantec_sim: ZhianTecSimulator) -> None:
    assert _capture_code(zhiantec_sim, 0.3) == "capture_timeout"
    assert zhiantec_sim.instructions.count(GEN_IMG) >= 2  # it polled


def test_bad_checksum_from_sensor(zhiantec_sim: ZhianTecSimulator) -> None:
    zhiantec_sim.place(0)
    with ZhianTecSensor(zhiantec_sim.port) as sensor:
        zhiantec_sim.inject("bad_checksum", times=1)
        with pytest.raises(DeviceError) as err:
            sensor.capture_image(1.0)
    assert err.value.code == "checksum_error"


def test_silent_sensor_times_out(zhiantec_sim: ZhianTecSimulator) -> None:
    zhiantec_sim.place(0)
    zhiantec_sim.inject("silence")
    with pytest.raises(DeviceError) as err:
        ZhianTecSensor(zhiantec_sim.port).open()
    assert err.value.code == "device_timeout"


def test_truncated_image_stream(zhiantec_sim: ZhianTecSimulator) -> None:
    zhiantec_sim.place(0)
    zhiantec_sim.inject("truncated", times=1)
    assert _capture_code(zhiantec_sim) == "frame_truncated"


def test_sensor_capture_failure(zhiantec_sim: ZhianTecSimulator) -> None:
    zhiantec_sim.place(0)
    zhiantec_sim.inject("capture_fail", times=1)
    assert _capture_code(zhiantec_sim) == "capture_failed"


def test_wrong_password(tmp_path: Path, synthetic_fingers: Path) -> None:
    with ZhianTecSimulator(synthetic_fingers, password=0x1234) as sim:
        with pytest.raises(DeviceError) as err:
            ZhianTecSensor(sim.port, password=0).open()
        assert err.value.code == "device_auth_failed"
        with ZhianTecSensor(sim.port, password=0x1234) as sensor:
            assert sensor.system_parameters().capacity == 300


def test_unplugged_sensor(zhiantec_sim: ZhianTecSimulator) -> None:
    sensor = ZhianTecSensor(zhiantec_sim.port)
    sensor.open()
    zhiantec_sim.unplug()
    with pytest.raises(DeviceError) as err:
        sensor.finger_present()
    sensor.close()
    assert err.value.code == "device_unavailable"


def test_on_sensor_store_and_search_fallback(zhiantec_sim: ZhianTecSimulator) -> None:
    # Synthetic images are <finger>_<impression>, four impressions each: indexes 0–3 are finger 101, 4–7 finger 102.
    with ZhianTecSensor(zhiantec_sim.port) as sensor:
        sensor.clear_library()
        zhiantec_sim.place(0)
        sensor.wait_for_finger(1.0)
        sensor.to_template(1)
        sensor.store(7)
        assert sensor.template_count() == 1
        zhiantec_sim.place(1)
        sensor.wait_for_finger(1.0)
        sensor.to_template(1)
        hit = sensor.search()
        assert hit is not None and hit.position == 7
        zhiantec_sim.place(4)
        sensor.wait_for_finger(1.0)
        sensor.to_template(1)
        assert sensor.search() is None
        sensor.delete(7)
        assert sensor.template_count() == 0
        assert sensor.led(True)


def test_invalid_baud_is_rejected() -> None:
    with pytest.raises(ValueError, match="9600"):
        ZhianTecSensor("/dev/null", 12345)


def test_simulator_speaks_what_pyfingerprint_expects(zhiantec_sim: ZhianTecSimulator, tmp_path: Path) -> None:
    """Independent check of the simulator's wire format with the unmodified PyPI library."""
    from PIL import Image
    from pyfingerprint.pyfingerprint import PyFingerprint

    zhiantec_sim.place(3)
    lib = PyFingerprint(zhiantec_sim.port, 57600, 0xFFFFFFFF, 0x00000000)
    try:
        assert lib.verifyPassword() is True
        assert lib.getStorageCapacity() == 300
        assert lib.readImage() is True
        out = tmp_path / "pf.png"
        lib.downloadImage(str(out))
    finally:
        del lib
    assert np.array_equal(np.asarray(Image.open(out)), zhiantec_sim.expected_image(3))


def test_real_fvc_image_round_trip(shared_data: Path, tmp_path: Path) -> None:
    images = shared_data / "fingerprint" / "FVC2004_DB4_B"
    if not images.is_dir():
        pytest.skip(f"{images} absent")
    with ZhianTecSimulator(images, link=tmp_path / "zt") as sim:
        sim.place(5)
        with ZhianTecSensor(sim.port) as sensor:
            image = sensor.capture_image(2.0)
        assert np.array_equal(image, sim.expected_image(5))
        assert image.std() > 20  # a real print, not a blank platen


def test_wrong_baud_rate_and_detection(synthetic_fingers: Path) -> None:
    with ZhianTecSimulator(synthetic_fingers, baud=115200, strict_baud=True) as sim:
        with pytest.raises(DeviceError) as err:
            ZhianTecSensor(sim.port, 57600).open()
        assert err.value.code == "device_timeout"
        sensor = ZhianTecSensor(sim.port, 57600)
        assert sensor.detect_baud((57600, 115200)) == 115200
        assert sensor.baud == 57600
        with ZhianTecSensor(sim.port, 115200) as right:
            assert right.system_parameters().baud == 115200


def test_a_slow_sensor_is_switched_to_the_fast_rate_and_found_there_next_time(synthetic_fingers: Path) -> None:
    """SetSysPara register 4: the module answers at 57600, then talks at 115200 (strict: a wrong rate hears
    nothing); a later open with the configured 57600 finds it at the fast rate; the image still arrives intact."""
    with ZhianTecSimulator(synthetic_fingers, baud=57600, strict_baud=True) as sim:
        with ZhianTecSensor(sim.port, 57600, fast_baud=115200) as sensor:
            assert sensor.baud == 115200 and sim.baud == 115200
            assert sensor.system_parameters().baud == 115200
            sim.place(1)
            assert np.array_equal(sensor.capture_image(2.0), sim.expected_image(1))
        with ZhianTecSensor(sim.port, 57600, fast_baud=115200) as again:  # the rate survived (flash)
            assert again.baud == 115200
        with pytest.raises(DeviceError) as err:
            ZhianTecSensor(sim.port, 57600).open()  # without fast_baud the configured rate is all it tries
        assert err.value.code == "device_timeout"


def test_a_sensor_that_refuses_the_fast_rate_keeps_working_at_its_own(synthetic_fingers: Path) -> None:
    with ZhianTecSimulator(synthetic_fingers, baud=57600, strict_baud=True, max_baud=57600) as sim, \
            ZhianTecSensor(sim.port, 57600, fast_baud=115200) as sensor:
        assert sensor.baud == 57600 and sim.baud == 57600
        sim.place(0)
        assert np.array_equal(sensor.capture_image(2.0), sim.expected_image(0))
    with pytest.raises(ValueError, match="9600"):
        ZhianTecSensor("/dev/null", 57600, fast_baud=100000)


def test_fingerprint_baud_settings_are_checked() -> None:
    from idverify.config import load_settings
    from idverify.errors import ConfigError

    assert load_settings(fingerprint_fast_baud=0).fingerprint_fast_baud == 0
    for bad in ({"fingerprint_fast_baud": 100000}, {"fingerprint_baud": 0}):
        with pytest.raises(ConfigError):
            load_settings(**bad)
