"""A whole workstation simulated, for ``idverify demo``, ``--simulate`` and tests: the object the runtime injects
into the device manager (:class:`idverify.devices.registry.DeviceWiring`).

Owns: starting the GA 467 reader and the ZhianTec sensor on ptys, the camera from image files, the simulated people
(:mod:`hardware_fixtures.personas`) and, when pcscd with vsmartcard's vpcd is present, the virtual passport in the
vpcd slot with its CSCA written to a scratch directory; choosing what they serve (:class:`SimulationAssets`: the
public samples beside a source checkout in ``../shared/data``, else synthetic images); stopping all of it again.
:meth:`SimulatedWorkstation.start` returns the :class:`~idverify.devices.registry.Endpoints` the manager opens —
the same drivers as on real hardware, through the real wire protocols.
Must not touch: the drivers (``idverify.devices``) or anything a daemon needs on a clinic's workstation.
"""

from __future__ import annotations

import importlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from idverify.config import Settings, sample_data_root
from idverify.devices.registry import Endpoints

log = structlog.get_logger(__name__)


@dataclass
class SimulationAssets:
    """What the simulators serve. ``None`` picks the defaults: the bundled made-up cards, and for images the
    public samples beside a source checkout (``../shared/data``) or synthetic patterns when those are absent."""

    cards: list[dict[str, str]] | None = None
    fingerprint_images: Path | None = None
    camera_images: Path | None = None
    auto_finger: bool = True
    #: Simulated people (``hardware_fixtures.personas``: card + face + fingers) with the default cards; presented
    #: through ``simulators["people"]`` or, in the demo, the nurse UI's "Simulated patient" panel.
    personas: bool = True
    #: Also insert the virtual passport (``hardware_fixtures.emrtd``) into pcscd's vpcd reader (when both exist).
    emrtd: bool = True


def default_shared(sub: str) -> Path | None:
    """``<sub>`` of the public samples (:func:`~idverify.config.sample_data_root`: ``$IDVERIFY_SHARED_DATA`` or
    ``../shared/data`` beside the source checkout), when present (sample data never ships in the package)."""
    path = sample_data_root() / sub
    return path if path.exists() else None


def demo_faces(settings: Settings) -> Path | None:
    """Where the simulated people's photos come from: ``IDVERIFY_DEMO_FACES``, else the public samples."""
    return settings.demo_faces or default_shared("face/asian_dev")


class SimulatedWorkstation:
    """Every device of a workstation simulated. ``assets`` may be replaced until :meth:`start`."""

    def __init__(self, settings: Settings, assets: SimulationAssets | None = None) -> None:
        self.settings = settings
        self.assets = assets or SimulationAssets()
        self.simulators: dict[str, Any] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> Endpoints:
        from hardware_fixtures.camera import SimulatedCamera
        from hardware_fixtures.ga467 import Ga467Simulator, load_cards
        from hardware_fixtures.personas import PersonaDesk, build_personas, faces_missing
        from hardware_fixtures.synthetic import synthetic_images
        from hardware_fixtures.zhiantec import ZhianTecSimulator

        self._tmp = tempfile.TemporaryDirectory(prefix="idverify-sim-")
        tmp = Path(self._tmp.name)
        s, a = self.settings, self.assets
        cards, personas = a.cards, None
        if a.personas and cards is None:
            personas, cards = build_personas(load_cards(), faces_root=demo_faces(s),
                                             fingers_root=default_shared("fingerprint/FVC2002_DB1_B"), scratch=tmp)
            if faces_missing(personas):
                log.warning("demo_faces_missing", setting="IDVERIFY_DEMO_FACES")
        paced = s.simulate_paced  # real wire times (the sensor then also honours baud switches strictly)
        ga = Ga467Simulator(cards, link=tmp / "ga467", baud=s.id_reader_baud, realtime=paced).start()
        self.simulators["ga467"] = ga
        fp_images = a.fingerprint_images or default_shared("fingerprint/FVC2004_DB4_B") or synthetic_images(tmp)
        zt = ZhianTecSimulator(
            fp_images, link=tmp / "zhiantec", baud=s.fingerprint_baud, password=s.fingerprint_password,
            auto_finger=a.auto_finger, realtime=paced, strict_baud=paced,
        ).start()
        self.simulators["zhiantec"] = zt
        cam_images = a.camera_images or default_shared("face/asian_dev") or synthetic_images(tmp, kind="face")
        cam = SimulatedCamera(cam_images, width=s.camera_width, height=s.camera_height)
        self.simulators["camera"] = cam
        if personas:
            self.simulators["people"] = PersonaDesk(personas, reader=ga, sensor=zt, camera=cam)
        at: dict[str, object] = {"ga467": ga.port, "zhiantec": zt.port, "camera": cam}
        passport = self._start_emrtd(tmp) if a.emrtd else None
        if passport is None:
            return Endpoints(at=at, simulators=self.simulators)
        at["pcsc"], csca_dir = passport
        return Endpoints(at=at, csca_dir=csca_dir, simulators=self.simulators)

    def _start_emrtd(self, tmp: Path) -> tuple[str, Path] | None:
        """Best effort: the virtual passport needs the real pcscd with vsmartcard's vpcd driver. When they are
        missing the card reader is simply reported unavailable, as on a workstation without one. Returns the vpcd
        reader's name and the directory of the passport's CSCA certificate, or None when no passport went in."""
        try:
            # Imported by name: the eMRTD fixtures are not type-checked with the rest.
            emrtd = importlib.import_module("hardware_fixtures.emrtd")
            pcscd_mod = importlib.import_module("hardware_fixtures.emrtd.pcscd")
            pcsc = importlib.import_module("idverify.devices.pcsc")  # late: pyscard needs libpcsclite
            from idverify.documents.mrz import BacKeys

            reason = pcscd_mod.unavailable_reason()
            if reason is not None:
                log.info("emrtd_simulator_skipped", reason=reason)
                return None
            pcscd = pcscd_mod.Pcscd.ensure()
            if pcsc.PcscReader(pcscd_mod.VPCD_READER).card_present():
                # Another process (an eMRTD test run, another demo) holds the single vpcd slot: leave it alone.
                log.info("emrtd_simulator_skipped", reason="vpcd slot busy")
                pcscd.stop()
                return None
            pki = emrtd.TestPki.generate()
            identity = emrtd.TestIdentity()
            keys = BacKeys(identity.document_number, identity.birth_date, identity.expiry_date)
            card = emrtd.VirtualCard(emrtd.EmrtdChip(emrtd.build_files(identity, pki), keys))
            card.insert()
            if not pcsc.PcscReader(pcscd_mod.VPCD_READER).wait_for_card(5):
                card.remove()
                raise TimeoutError("virtual passport did not appear in the vpcd reader")
        except Exception as exc:  # a demo without a passport is still a demo
            log.warning("emrtd_simulator_unavailable", error=exc.__class__.__name__)
            return None
        directory = tmp / "csca"
        pki.write_csca(directory)
        self.simulators.update({"pcscd": pcscd, "emrtd_card": card, "emrtd_identity": identity,
                                "emrtd_keys": keys})
        return str(pcscd_mod.VPCD_READER), directory

    def stop(self) -> None:
        for name in ("ga467", "zhiantec"):
            sim = self.simulators.get(name)
            if sim is not None:
                sim.stop()
        if "emrtd_card" in self.simulators:
            self.simulators["emrtd_card"].remove()
            self.simulators["pcscd"].stop()  # only stops a pcscd we started
        self.simulators = {}
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
