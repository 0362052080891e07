"""Model files are found in the documented order and refused when their checksum is wrong."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from idverify.biometrics import models_path
from idverify.biometrics.models_path import model_file, read_manifest
from idverify.errors import ConfigError


def _write_models(directory: Path, name: str, content: bytes, sha: str | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(content)
    digest = sha or hashlib.sha256(content).hexdigest()
    (directory / "manifest.json").write_text(json.dumps({"files": {name: {"sha256": digest}}}))


def test_shipped_manifest_covers_every_model_file() -> None:
    repo_models = Path(__file__).resolve().parents[3] / "models"
    manifest = read_manifest(repo_models)["files"]
    for path in repo_models.glob("*.onnx"):
        assert path.name in manifest, path.name
        assert manifest[path.name]["licence"]
        assert model_file(path.name) == path


def test_env_dir_wins_and_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_models(tmp_path, "m.onnx", b"model bytes")
    monkeypatch.setenv("IDVERIFY_MODELS_DIR", str(tmp_path))
    assert model_file("m.onnx") == tmp_path / "m.onnx"


def test_corrupted_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_models(tmp_path, "bad.onnx", b"tampered", sha="0" * 64)
    monkeypatch.setenv("IDVERIFY_MODELS_DIR", str(tmp_path))
    models_path._verified.clear()
    with pytest.raises(ConfigError, match="checksum"):
        model_file("bad.onnx")


def test_unlisted_and_missing_models_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_models(tmp_path, "listed.onnx", b"x")
    (tmp_path / "stray.onnx").write_bytes(b"y")
    monkeypatch.setenv("IDVERIFY_MODELS_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="not listed"):
        model_file("stray.onnx")
    with pytest.raises(ConfigError, match="not found"):
        model_file("nowhere.onnx")
    with pytest.raises(ConfigError):
        model_file("../etc/passwd")
