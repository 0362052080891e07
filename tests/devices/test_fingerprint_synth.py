"""Generated fingers for a clone without the sample data: impressions of one finger match each other under the
shipped operating point, impressions of different fingers do not, and the demo says what it cannot show (faces)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hardware_fixtures import fingerprint_synth, wiring
from hardware_fixtures.ga467 import load_cards
from hardware_fixtures.personas import FINGER_ORDER, SPECS, build_personas

from idverify.biometrics.fingerprint.extract import extract
from idverify.biometrics.fingerprint.match import match
from idverify.biometrics.operating_points import load_operating_points


def test_impressions_are_deterministic_sensor_sized_and_differ() -> None:
    a, b = fingerprint_synth.impression(0, 1), fingerprint_synth.impression(0, 1)
    assert a.shape == (fingerprint_synth.HEIGHT, fingerprint_synth.WIDTH) and a.dtype == np.uint8
    assert np.array_equal(a, b)  # the same finger and impression: the same bytes, so tests are repeatable
    second = fingerprint_synth.impression(0, 2)
    assert np.mean(np.abs(a.astype(int) - second.astype(int))) > 10  # another landing of the finger
    # ridges and valleys: a dark and a light population inside the contact area
    centre = a[100:190, 80:176]
    assert np.percentile(centre, 10) < 110 and np.percentile(centre, 90) > 170


def test_the_demo_personas_fingers_enrol_and_match_like_real_ones(tmp_path: Path) -> None:
    """Every impression matches the enrolled one of its finger; no finger matches another's (shipped threshold)."""
    personas, _ = build_personas(load_cards(), faces_root=None, fingers_root=None, scratch=tmp_path)
    threshold = load_operating_points().point("fingerprint", 0.001).threshold  # the default target FMR
    import cv2

    def read(path: Path) -> Any:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert image is not None, path
        return image

    templates = {(p.key, pos): [extract(read(path), dpi=500) for path in p.fingers[pos]]
                 for p in personas for pos in FINGER_ORDER}
    assert len(templates) == len(SPECS) * len(FINGER_ORDER)
    genuine = [match(ts[0], probe) for ts in templates.values() for probe in ts[1:]]
    impostor = [match(a[0], b[0]) for a, b in itertools.combinations(templates.values(), 2)]
    assert min(genuine) >= threshold, sorted(genuine)[:3]
    assert max(impostor) < threshold, sorted(impostor)[-3:]
    assert all(len(ts[0].minutiae) >= 15 for ts in templates.values())  # real ridge endings and splits


def test_without_sample_data_the_demo_says_faces_are_missing(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wiring, "default_shared", lambda _sub: None)  # a clone of the repository alone
    daemon = make_app(simulate=True)
    daemon.app.state.ctx.devices.wiring.assets = wiring.SimulationAssets(emrtd=False)
    with TestClient(daemon.app, raise_server_exceptions=False) as client:
        resp = client.post("/api/v1/auth/login", json={"username": "nurse1", "password": daemon.passwords["nurse1"]})
        assert resp.status_code == 200
        state = client.get("/api/v1/simulator").json()
        assert state["faces_missing"] is True and not any(p["real_face"] for p in state["personas"])
        page = client.get("/nurse/check", headers={"Accept-Language": "zh-CN"})
        assert 'id="sim-faces-missing"' in page.text and "IDVERIFY_DEMO_FACES" in page.text


def test_a_folder_of_photos_gives_the_personas_faces(tmp_path: Path) -> None:
    """``IDVERIFY_DEMO_FACES``: any folder with one sub-folder per person stands in for the sample identities."""
    import cv2

    root = tmp_path / "faces"
    for person in ("a", "b", "c"):
        (root / person).mkdir(parents=True)
        cv2.imwrite(str(root / person / "1.jpg"), np.full((32, 32, 3), 128, np.uint8))
    personas, _ = build_personas(load_cards(), faces_root=root, fingers_root=None, scratch=tmp_path / "s")
    assert all(p.real_face for p in personas)
    assert [p.faces[0].parent.name for p in personas] == ["a", "b", "c"]
