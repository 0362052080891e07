"""GA 467 driver end to end over a pty against the simulator: every card variant and every injected fault."""

from __future__ import annotations

from datetime import date

import pytest
from hardware_fixtures.ga467 import Ga467Simulator, fake_wlt

from idverify.devices.ga467 import CMD_FIND, CMD_READ_BASE, CMD_SELECT, Ga467Reader
from idverify.errors import DeviceError

TODAY = date(2026, 11, 23)


def _code(reader: Ga467Reader) -> str:
    with pytest.raises(DeviceError) as err:
        reader.read_document(today=TODAY)
    return err.value.code


def test_reads_resident_card_through_find_select_read(ga467_sim: Ga467Simulator) -> None:
    with Ga467Reader(ga467_sim.port) as reader:
        doc = reader.read_document(today=TODAY)
    assert ga467_sim.commands == [CMD_FIND, CMD_SELECT, CMD_READ_BASE]
    assert doc.document_type == "cn_resident_id"
    assert doc.document_number == "110105199003070025"
    assert doc.checks.checksum and not doc.checks.expired
    assert doc.source == f"ga467:{ga467_sim.port}"
    # No WLT decoder installed: the raw photo is kept and reported unavailable.
    assert doc.photo == fake_wlt(ga467_sim.cards[0]) and doc.photo_format == "wlt"
    assert doc.to_summary()["photo"] == "unavailable"


@pytest.mark.parametrize(
    ("index", "document_type", "expired", "long_term"),
    [
        (1, "cn_resident_id", False, True),
        (2, "cn_resident_id", True, False),
        (3, "cn_hmt_residence_permit", False, False),
        (4, "cn_foreigner_permanent_residence", False, False),
        (5, "cn_foreigner_permanent_residence", False, False),
    ],
)
def test_reads_every_sample_card(
    ga467_sim: Ga467Simulator, index: int, document_type: str, expired: bool, long_term: bool
) -> None:
    ga467_sim.insert(index)
    with Ga467Reader(ga467_sim.port) as reader:
        doc = reader.read_document(today=TODAY)
    assert doc.document_type == document_type
    assert doc.document_number == ga467_sim.cards[index]["id_number"]
    assert (doc.checks.expired, doc.long_term, doc.checks.checksum) == (expired, long_term, True)


def test_sam_id_formatting(ga467_sim: Ga467Simulator) -> None:
    with Ga467Reader(ga467_sim.port) as reader:
        assert reader.sam_id() == "05.01-20101215-0012345678-0123456789"


def test_no_card(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.remove()
    with Ga467Reader(ga467_sim.port) as reader:
        assert _code(reader) == "no_card"
        assert not reader.find_card()


def test_card_pulled_mid_read(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.inject("pull_mid_read", times=1)
    with Ga467Reader(ga467_sim.port) as reader:
        assert _code(reader) == "card_removed"
        assert _code(reader) == "no_card"  # the card is gone now
        ga467_sim.insert(0)
        assert reader.read_document(today=TODAY).document_number == "110105199003070025"


def test_persistent_bad_checksum(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.inject("bad_checksum")
    with Ga467Reader(ga467_sim.port, retries=1) as reader:
        assert _code(reader) == "checksum_error"


def test_single_bad_checksum_is_retried_transparently(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.inject("bad_checksum", times=1)
    with Ga467Reader(ga467_sim.port, retries=1) as reader:
        assert reader.read_document(today=TODAY).checks.checksum
    assert ga467_sim.commands.count(CMD_FIND) == 2


def test_truncated_frame(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.inject("truncated")
    with Ga467Reader(ga467_sim.port, retries=0) as reader:
        assert _code(reader) == "frame_truncated"


def test_silent_reader_times_out(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.inject("silence")
    with Ga467Reader(ga467_sim.port) as reader:
        assert _code(reader) == "device_timeout"
        ga467_sim.clear()
        assert reader.read_document(today=TODAY).checks.checksum  # a late answer does not poison the next call


def test_unplugged_reader(ga467_sim: Ga467Simulator) -> None:
    reader = Ga467Reader(ga467_sim.port)
    reader.open()
    ga467_sim.unplug()
    try:
        assert _code(reader) == "device_unavailable"
    finally:
        reader.close()
    assert _code(Ga467Reader(ga467_sim.port)) == "device_unavailable"  # the port path is gone too
    ga467_sim.replug()
    with Ga467Reader(ga467_sim.port) as again:
        assert again.read_document(today=TODAY).checks.checksum


def test_missing_port_is_unavailable(tmp_path: object) -> None:
    assert _code(Ga467Reader("/dev/does-not-exist-idverify")) == "device_unavailable"


def test_wlt_decoder_turns_photo_available(ga467_sim: Ga467Simulator) -> None:
    import cv2
    import numpy as np

    class FakeDecoder:
        name = "fake"

        def decode(self, wlt: bytes) -> bytes:
            assert len(wlt) == 1024
            ok, bmp = cv2.imencode(".bmp", np.full((126, 102, 3), 128, np.uint8))
            assert ok
            return bytes(bmp.tobytes())

    with Ga467Reader(ga467_sim.port, photo_decoder=FakeDecoder()) as reader:
        doc = reader.read_document(today=TODAY)
    assert doc.photo_format == "png" and doc.photo is not None and doc.photo.startswith(b"\x89PNG")
    assert doc.to_summary()["photo"] == "available"


def test_waits_for_a_card_to_be_placed(ga467_sim: Ga467Simulator) -> None:
    import threading

    ga467_sim.remove()
    timer = threading.Timer(0.3, ga467_sim.insert, args=(0,))
    timer.start()
    try:
        with Ga467Reader(ga467_sim.port) as reader:
            doc = reader.read_document(today=TODAY, wait=5.0)
    finally:
        timer.cancel()
    assert doc.document_number == "110105199003070025"
    assert ga467_sim.commands.count(CMD_FIND) >= 2  # it polled before the card arrived


def test_select_refused_once_is_retried(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.inject("select_fail", times=1)
    with Ga467Reader(ga467_sim.port) as reader:
        assert reader.read_document(today=TODAY).checks.checksum
    assert ga467_sim.commands == [CMD_FIND, CMD_SELECT, CMD_SELECT, CMD_READ_BASE]


def test_select_refused_always_means_card_removed(ga467_sim: Ga467Simulator) -> None:
    ga467_sim.inject("select_fail")
    with Ga467Reader(ga467_sim.port) as reader:
        assert _code(reader) == "card_removed"


def test_appended_address(tmp_path: object) -> None:
    from hardware_fixtures.ga467 import load_cards

    cards = load_cards()
    cards[0] = {**cards[0], "new_address": "北京市海淀区新址路9号"}
    with Ga467Simulator(cards) as sim, Ga467Reader(sim.port) as reader:
        reader.read_document(today=TODAY)
        assert reader.read_new_address() == "北京市海淀区新址路9号"
        sim.insert(1)
        reader.read_document(today=TODAY)
        assert reader.read_new_address() is None


def test_wrong_baud_rate_is_silence_and_detect_baud_finds_the_right_one(tmp_path: object) -> None:
    with Ga467Simulator(baud=9600, strict_baud=True) as sim:
        reader = Ga467Reader(sim.port, 115200)
        assert _code(reader) == "device_timeout"
        assert reader.detect_baud((115200, 9600)) == 9600
        assert reader.baud == 115200  # detection never changes the configuration
        reader.close()
        with Ga467Reader(sim.port, 9600) as right:
            assert right.read_document(today=TODAY).checks.checksum
