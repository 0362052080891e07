"""Device manager: simulate mode end to end, health, faults surfacing with their error codes, hot-plug with backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hardware_fixtures.wiring import SimulatedWorkstation, SimulationAssets

from idverify.config import Settings, load_settings
from idverify.devices.manager import DeviceManager
from idverify.documents.mrz import BacKeys
from idverify.errors import DeviceError


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    d = tmp_path / "faces"
    d.mkdir()
    for i in range(2):
        cv2.imwrite(str(d / f"{i}.png"), np.full((240, 320, 3), 90 + i, np.uint8))
    return d


def _simulated(settings: Settings, assets: SimulationAssets) -> DeviceManager:
    return DeviceManager(settings, wiring=SimulatedWorkstation(settings, assets))


@pytest.fixture
def manager(tmp_path: Path, synthetic_fingers: Path, frames: Path) -> Iterator[DeviceManager]:
    settings = load_settings(simulate=True, data_dir=tmp_path, camera_width=160, camera_height=120, camera_fps=30)
    m = _simulated(settings, SimulationAssets(fingerprint_images=synthetic_fingers, camera_images=frames, emrtd=False))
    m.start_sync()
    yield m
    m.stop_sync()


def _code(fn: object) -> str:
    with pytest.raises(DeviceError) as err:
        fn()  # type: ignore[operator]
    return err.value.code


def test_simulate_mode_health(manager: DeviceManager) -> None:
    health = {h.kind: h for h in manager.probe_sync()}
    assert set(health) == {"id_reader", "fingerprint", "card_reader", "camera"}
    assert health["id_reader"].status == "ok" and health["id_reader"].name.startswith("ga467:")
    assert health["fingerprint"].status == "ok" and health["fingerprint"].name.startswith("zhiantec:")
    assert health["camera"].status == "ok"
    assert health["card_reader"].status == "not_configured" and "IDVERIFY_PCSC_READER" in (health["card_reader"].detail
                                                                                          or "")
    assert health["id_reader"].as_dict().keys() == {"kind", "name", "status", "detail", "detail_code", "detail_args"}


def test_async_operations_run_off_the_loop(manager: DeviceManager) -> None:
    async def run() -> None:
        doc, image, frame, jpeg = await asyncio.gather(
            manager.read_document(), manager.capture_fingerprint(2.0), manager.grab_frame(), manager.preview_jpeg()
        )
        assert doc.document_type == "cn_resident_id" and doc.checks.checksum
        assert image.shape == (288, 256)
        assert frame.image.shape == (120, 160, 3)
        assert jpeg[:2] == b"\xff\xd8"
        assert len(manager.recent_frames(3)) >= 1

    asyncio.run(run())


def test_faults_surface_with_spec_codes(manager: DeviceManager) -> None:
    ga, zt = manager.simulators["ga467"], manager.simulators["zhiantec"]
    ga.remove()
    assert _code(manager.read_document_sync) == "no_card"
    ga.insert(0)
    ga.inject("pull_mid_read", times=1)
    assert _code(manager.read_document_sync) == "card_removed"
    ga.insert(0)
    ga.inject("bad_checksum")
    assert _code(manager.read_document_sync) == "checksum_error"
    ga.clear()
    assert manager.read_document_sync().checks.checksum  # recovers after a reopen
    zt.auto_finger = False
    zt.lift()
    assert _code(lambda: manager.capture_fingerprint_sync(0.3)) == "capture_timeout"
    manager.simulators["camera"].set_no_frames(True)
    assert _code(lambda: asyncio.run(manager.grab_frame(0.3))) == "no_frame"


def test_hot_plug_with_backoff(manager: DeviceManager) -> None:
    ga = manager.simulators["ga467"]
    assert manager.read_document_sync().checks.checksum
    ga.unplug()
    assert _code(manager.read_document_sync) == "device_unavailable"
    ga.replug()
    # Within the backoff window the manager fails fast instead of hammering the port.
    with pytest.raises(DeviceError) as err:
        manager.read_document_sync()
    assert err.value.code == "device_unavailable" and "retrying in" in err.value.message
    assert {h.kind: h.status for h in manager.health()}["id_reader"] == "unavailable"
    time.sleep(0.6)
    assert manager.read_document_sync().checks.checksum
    assert {h.kind: h.status for h in manager.health()}["id_reader"] == "ok"


def test_monitor_brings_a_replugged_device_back(tmp_path: Path, synthetic_fingers: Path, frames: Path) -> None:
    settings = load_settings(simulate=True, data_dir=tmp_path)
    m = _simulated(settings, SimulationAssets(fingerprint_images=synthetic_fingers, camera_images=frames, emrtd=False))

    async def run() -> None:
        await m.start(monitor_interval=0.1)
        try:
            zt = m.simulators["zhiantec"]
            await m.check_health()
            zt.unplug()
            with pytest.raises(DeviceError):
                await m.capture_fingerprint(0.5)
            zt.replug()
            for _ in range(40):
                await asyncio.sleep(0.1)
                if {h.kind: h.status for h in m.health()}["fingerprint"] == "ok":
                    break
            assert {h.kind: h.status for h in m.health()}["fingerprint"] == "ok"
        finally:
            await m.stop()

    asyncio.run(run())


def test_nothing_configured(tmp_path: Path) -> None:
    m = DeviceManager(load_settings(data_dir=tmp_path, simulate=False))
    m.start_sync()
    try:
        health = m.probe_sync()
        assert [h.status for h in health] == ["not_configured"] * 4
        assert _code(m.read_document_sync) == "device_unavailable"
        assert _code(lambda: m.capture_fingerprint_sync(1.0)) == "device_unavailable"
        assert _code(lambda: m.read_document_sync(BacKeys("L898902C", "690806", "940623"))) == "device_unavailable"
        assert _code(lambda: asyncio.run(m.grab_frame())) == "device_unavailable"
    finally:
        m.stop_sync()


def test_missing_serial_port_reports_unavailable(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, id_reader_port=str(tmp_path / "ttyUSB9"))
    m = DeviceManager(settings)
    m.start_sync()
    try:
        health = {h.kind: h for h in m.probe_sync()}
        assert health["id_reader"].status == "unavailable"
        assert "cannot open" in (health["id_reader"].detail or "")
    finally:
        m.stop_sync()


def test_simulate_mode_serves_the_virtual_passport(tmp_path: Path, synthetic_fingers: Path, frames: Path) -> None:
    pcscd = pytest.importorskip("hardware_fixtures.emrtd.pcscd")
    reason = pcscd.unavailable_reason()
    if reason:
        pytest.skip(reason)
    m = _simulated(load_settings(simulate=True, data_dir=tmp_path),
                   SimulationAssets(fingerprint_images=synthetic_fingers, camera_images=frames))
    m.start_sync()
    try:
        if "emrtd_keys" not in m.simulators:
            pytest.skip("the virtual passport could not be inserted (pcscd/vpcd busy or missing)")
        if m.simulators["pcscd"].process is None:
            # vpcd has one slot; with a pcscd someone else started, another test run may be using it right now.
            pytest.skip("pcscd is shared with another process; this test needs the vpcd slot to itself")
        health = {h.kind: h for h in m.probe_sync()}
        assert health["card_reader"].status == "ok"
        doc = m.read_document_sync(m.simulators["emrtd_keys"])
        assert doc.document_type == "passport"
        assert doc.checks.passive_auth == "passed" and doc.checks.checksum
        # Without BAC keys the GA 467 reader answers.
        assert m.read_document_sync().document_type == "cn_resident_id"
    finally:
        m.stop_sync()


def test_health_does_not_queue_behind_a_capture(manager: DeviceManager) -> None:
    import threading

    zt = manager.simulators["zhiantec"]
    zt.auto_finger = False
    zt.lift()
    manager.probe_sync()
    errors: list[str] = []

    def capture() -> None:
        try:
            manager.capture_fingerprint_sync(3.0)
        except DeviceError as exc:
            errors.append(exc.code)

    worker = threading.Thread(target=capture)
    worker.start()
    time.sleep(0.2)  # let the capture take the device
    health = {h.kind: h.status for h in manager.probe_sync()}
    still_capturing = worker.is_alive()
    zt.place(0)
    worker.join(5)
    assert still_capturing  # the probe came back while the capture was still waiting for a finger
    assert health["fingerprint"] == "ok"
    assert errors == []  # the finger placed afterwards was captured


def test_health_suggests_the_reader_baud_rate(tmp_path: Path) -> None:
    from hardware_fixtures.ga467 import Ga467Simulator

    with Ga467Simulator(baud=9600, strict_baud=True, link=tmp_path / "ga") as sim:
        m = DeviceManager(load_settings(data_dir=tmp_path, id_reader_port=sim.port, id_reader_baud=115200))
        m.start_sync()
        try:
            health = {h.kind: h for h in m.probe_sync()}
        finally:
            m.stop_sync()
    assert health["id_reader"].status == "error"
    assert health["id_reader"].detail == "reader answers at 9600 baud; set IDVERIFY_ID_READER_BAUD=9600"


def test_on_sensor_fallback_through_the_manager(manager: DeviceManager) -> None:
    from idverify.devices.zhiantec import SearchResult, ZhianTecSensor

    zt = manager.simulators["zhiantec"]
    zt.auto_finger = False

    def enrol(sensor: ZhianTecSensor) -> int:
        sensor.clear_library()
        zt.place(0)
        sensor.wait_for_finger(1.0)
        sensor.to_template(1)
        sensor.store(3)
        return sensor.template_count()

    def identify(sensor: ZhianTecSensor) -> SearchResult | None:
        zt.place(1)  # another impression of the same finger
        sensor.wait_for_finger(1.0)
        sensor.to_template(1)
        return sensor.search()

    assert asyncio.run(manager.with_fingerprint_sensor(enrol)) == 1
    hit = asyncio.run(manager.with_fingerprint_sensor(identify))
    assert hit is not None and hit.position == 3
