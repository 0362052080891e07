"""The one reader of the calibrated thresholds files: shipped files accepted, stale or altered files refused.

Every case runs the real loader on real files: a temporary models directory holds copies of the shipped thresholds
files and a manifest with their checksums, the way an installation's ``IDVERIFY_MODELS_DIR`` would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idverify.biometrics import models_path
from idverify.biometrics.face.engine import ALGORITHM_VERSION as FACE_VERSION
from idverify.biometrics.fingerprint.template import ALGORITHM_VERSION as FINGERPRINT_VERSION
from idverify.biometrics.models_path import model_file, read_manifest
from idverify.biometrics.operating_points import (
    FACE_FILE,
    FINGERPRINT_FILE,
    OperatingPoint,
    load_operating_points,
)
from idverify.errors import ConfigError

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"

ModelsDir = Callable[..., Path]


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelsDir]:
    """A models directory with the shipped thresholds files (``edit`` changes one before the manifest is written;
    ``tamper`` changes it after) and IDVERIFY_MODELS_DIR pointing at it; other model files come from ``models/``."""

    def make(*, edit: dict[str, Callable[[dict[str, Any]], None]] | None = None,
             tamper: dict[str, bytes] | None = None, unlisted: str | None = None) -> Path:
        directory = tmp_path / "models"
        directory.mkdir()
        files: dict[str, dict[str, str]] = {}
        for name in (FACE_FILE, FINGERPRINT_FILE):
            doc = json.loads((REPO_MODELS / name).read_text(encoding="utf-8"))
            if edit and name in edit:
                edit[name](doc)
            data = (json.dumps(doc, indent=2) + "\n").encode()
            (directory / name).write_bytes(data)
            files[name] = {"sha256": hashlib.sha256(data).hexdigest()}
            if tamper and name in tamper:
                (directory / name).write_bytes(tamper[name])
        files.pop(unlisted or "", None)
        (directory / "manifest.json").write_text(json.dumps({"files": files}))
        monkeypatch.setenv("IDVERIFY_MODELS_DIR", str(directory))
        return directory

    yield make
    models_path.configure(None)  # create_app configures the process-wide models dir from its settings


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(model_file(name).read_text(encoding="utf-8"))
    return data


def test_shipped_files_are_listed_in_the_manifest_and_accepted() -> None:
    manifest = read_manifest(REPO_MODELS)["files"]
    for name in (FACE_FILE, FINGERPRINT_FILE):
        assert manifest[name]["sha256"] == hashlib.sha256((REPO_MODELS / name).read_bytes()).hexdigest()
        assert manifest[name]["version"] == _raw(name)["algorithm_version"]
    points = load_operating_points()
    assert points.algorithm_versions == {FACE_FILE: FACE_VERSION, FINGERPRINT_FILE: FINGERPRINT_VERSION}
    live = points.point("face", 0.001)
    assert isinstance(live, OperatingPoint)
    assert live.source == "thresholds_face.json:live/fmr_0.001" and live.target_fmr == 0.001
    assert live.threshold == _raw(FACE_FILE)["operating_points"]["live"]["fmr_0.001"]["threshold"]
    assert live.impostor_mean == _raw(FACE_FILE)["operating_points"]["live"]["fmr_0.001"]["impostor_mean"]
    assert points.point("document_photo", 0.01).source == "thresholds_face.json:document/fmr_0.01"
    finger = points.point("fingerprint", 1e-4)
    assert finger.source == "thresholds_fingerprint.json:fmr_0.0001" and finger.impostor_mean is None
    assert load_operating_points() is points  # loaded once, then served from the cache


def test_shipped_files_match_the_engines_and_carry_their_evidence() -> None:
    points = load_operating_points()
    assert points.point("face", 0.01).threshold <= points.point("face", 0.001).threshold
    assert 0.0 < points.point("fingerprint", 1e-3).threshold <= points.point("fingerprint", 1e-4).threshold < 1.0
    face = _raw(FACE_FILE)
    for point in face["operating_points"]["live"].values():
        assert point["dev_rates_at_threshold"] and "leave_one_identity_out" in point
    assert face["evidence"]["datasets"]
    finger = _raw(FINGERPRINT_FILE)
    assert finger["operating_points"]["fmr_0.001"]["dev_rates_at_threshold"]["pooled"]["fmr"] <= 1e-3


def test_missing_operating_points_and_unknown_factors_are_refused() -> None:
    points = load_operating_points()
    with pytest.raises(ConfigError, match=r"thresholds_face.json has no operating point 'fmr_0.5' for 'live'"):
        points.point("face", 0.5)
    with pytest.raises(ConfigError, match=r"thresholds_fingerprint.json has no operating point 'fmr_0.01'"):
        points.point("fingerprint", 0.01)
    with pytest.raises(ConfigError, match="unknown factor 'iris'"):
        points.point("iris", 0.001)


@pytest.mark.parametrize(("name", "current"), [(FACE_FILE, FACE_VERSION), (FINGERPRINT_FILE, FINGERPRINT_VERSION)])
def test_a_file_for_another_algorithm_version_is_refused_naming_both_versions(
        models_dir: ModelsDir, name: str, current: str) -> None:
    directory = models_dir(edit={name: lambda doc: doc.update(algorithm_version="idverify-old/0.9")})
    with pytest.raises(ConfigError) as err:
        load_operating_points()
    message = err.value.message
    assert str(directory / name) in message
    assert "'idverify-old/0.9'" in message and repr(current) in message


@pytest.mark.parametrize("name", [FACE_FILE, FINGERPRINT_FILE])
def test_a_file_changed_after_its_checksum_was_recorded_is_refused(models_dir: ModelsDir, name: str) -> None:
    shipped = (REPO_MODELS / name).read_text(encoding="utf-8")
    lowered = shipped.replace('"threshold": 0.', '"threshold": 0.0', 1).encode()  # one threshold made lower
    assert lowered != shipped.encode()
    models_dir(tamper={name: lowered})
    with pytest.raises(ConfigError, match=rf"{name} failed its checksum"):
        load_operating_points()


def test_a_file_edited_in_place_while_running_is_checked_again(models_dir: ModelsDir) -> None:
    directory = models_dir()
    first = load_operating_points()
    assert first.point("face", 0.001).threshold > 0.5
    (directory / FINGERPRINT_FILE).write_text('{"algorithm_version": "x", "operating_points": {}}\n')
    with pytest.raises(ConfigError, match="failed its checksum"):
        load_operating_points()


def test_malformed_and_unlisted_files_are_refused(models_dir: ModelsDir) -> None:
    models_dir(edit={FACE_FILE: lambda doc: doc["operating_points"].pop("document")})
    with pytest.raises(ConfigError, match=r"thresholds_face.json has no operating points for 'document'"):
        load_operating_points()


def test_a_file_missing_from_the_manifest_is_refused(models_dir: ModelsDir) -> None:
    models_dir(unlisted=FINGERPRINT_FILE)
    with pytest.raises(ConfigError, match=r"thresholds_fingerprint.json is not listed"):
        load_operating_points()


def test_calibration_output_is_recorded_in_the_manifest_and_accepted(models_dir: ModelsDir) -> None:
    from idverify.bench.calibration import record, write_thresholds

    directory = models_dir()
    doc = json.loads((directory / FINGERPRINT_FILE).read_text())
    doc["operating_points"]["fmr_0.001"]["threshold"] = 0.5  # a new calibration
    assert write_thresholds(directory / FINGERPRINT_FILE, doc, source="test run")
    entry = read_manifest(directory)["files"][FINGERPRINT_FILE]
    assert entry["source"] == "test run" and entry["version"] == FINGERPRINT_VERSION
    assert load_operating_points().point("fingerprint", 1e-3).threshold == 0.5
    # a file that arrived without its checksum is recorded, unless it belongs to another algorithm version
    doc["operating_points"]["fmr_0.001"]["threshold"] = 0.45  # another length: the checks key on size and mtime
    (directory / FINGERPRINT_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    with pytest.raises(ConfigError, match="failed its checksum"):
        load_operating_points()
    assert record([directory / FINGERPRINT_FILE])[0].startswith(FINGERPRINT_FILE)
    assert load_operating_points().point("fingerprint", 1e-3).threshold == 0.45
    doc["algorithm_version"] = "idverify-old/0.9"
    (directory / FINGERPRINT_FILE).write_text(json.dumps(doc, indent=2) + "\n")
    with pytest.raises(ConfigError, match="recalibrate instead"):
        record([directory / FINGERPRINT_FILE])


# --- the daemon checks the files at start-up (create_app, and so `idverify serve`) -------------------------------

def test_the_daemon_starts_on_the_shipped_files(make_app: Any) -> None:
    daemon = make_app()
    assert daemon.client().get("/healthz").status_code == 200


def test_the_daemon_refuses_a_thresholds_file_for_another_algorithm_version(
        models_dir: ModelsDir, tmp_path: Path) -> None:
    from idverify.app import create_app
    from idverify.config import load_settings

    directory = models_dir(edit={FINGERPRINT_FILE: lambda doc: doc.update(algorithm_version="idverify-fp/0.9")})
    with pytest.raises(ConfigError) as err:
        create_app(load_settings(data_dir=tmp_path / "data", models_dir=directory))
    assert str(directory / FINGERPRINT_FILE) in err.value.message
    assert "'idverify-fp/0.9'" in err.value.message and repr(FINGERPRINT_VERSION) in err.value.message


def test_serve_refuses_a_tampered_thresholds_file_with_a_clear_message(
        models_dir: ModelsDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from idverify.cli import app

    shipped = (REPO_MODELS / FACE_FILE).read_text(encoding="utf-8")
    models_dir(tamper={FACE_FILE: shipped.replace('"threshold": 0.9', '"threshold": 0.5', 1).encode()})
    monkeypatch.setenv("IDVERIFY_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["serve", "--port", "1"])  # never listens: start-up stops first
    assert result.exit_code == 2, result.output
    assert "error [config_error]: model thresholds_face.json failed its checksum" in result.output
