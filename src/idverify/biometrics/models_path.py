"""Where model files live, and the check that they are the files we shipped.

Owns: locating a model file by name and verifying it against ``manifest.json`` (sha256) before anyone loads it.
Must not touch: loading or running models (that is each engine's job), the network (nothing here downloads).

Search order, first directory that holds the file wins:

1. ``$IDVERIFY_MODELS_DIR`` (an installation may keep models outside the package, e.g. a read-only volume);
2. the repository's ``models/`` (development checkouts, tests);
3. the installed package's ``idverify/_models`` (the wheel bundles ``models/`` there).

The manifest beside the file must list it with its sha256: a truncated copy or a swapped model would silently
change every score and threshold, so a mismatch is refused with :class:`~idverify.errors.ConfigError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from idverify.errors import ConfigError

MANIFEST = "manifest.json"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # .../idverify
_REPO_MODELS = _PACKAGE_DIR.parents[1] / "models"  # src/idverify -> repo root / models
_BUNDLED_MODELS = _PACKAGE_DIR / "_models"

_verified: dict[Path, str] = {}
_lock = threading.Lock()
_configured: Path | None = None


def configure(models_dir: Path | None) -> None:
    """Use ``models_dir`` (``Settings.models_dir``, from the environment or the settings file) first."""
    global _configured  # noqa: PLW0603  one process-wide model location, set once at start-up
    _configured = models_dir


def model_dirs() -> list[Path]:
    """Candidate model directories in search order (existing or not)."""
    dirs: list[Path] = []
    env = os.environ.get("IDVERIFY_MODELS_DIR")
    if _configured is not None:
        dirs.append(_configured)
    elif env:
        dirs.append(Path(env))
    dirs.extend([_REPO_MODELS, _BUNDLED_MODELS])
    return dirs


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of one model directory: ``{"files": {name: {"sha256", "source", "licence", ...}}}``."""
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"model manifest missing: {path}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"model manifest unreadable: {path} ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise ConfigError(f"model manifest malformed (no 'files' object): {path}")
    return data


def model_file(name: str, *, verify: bool = True) -> Path:
    """Path of model ``name`` (a file name such as ``face_detection_yunet_2023mar.onnx``), checksum-verified.

    Raises :class:`ConfigError` when no model directory holds the file, when the manifest does not list it, or
    when its sha256 differs from the manifest (a corrupted or substituted model is never loaded).
    Verification is done once per path and process.
    """
    if "/" in name or "\\" in name or name in {"", ".", ".."}:
        raise ConfigError(f"invalid model name {name!r}")
    for directory in model_dirs():
        path = directory / name
        if path.is_file():
            return _verify(path, directory) if verify else path
    searched = ", ".join(str(d) for d in model_dirs())
    raise ConfigError(f"model file {name} not found (searched {searched}; set IDVERIFY_MODELS_DIR)")


def _verify(path: Path, directory: Path) -> Path:
    with _lock:
        stamp = f"{path.stat().st_size}:{path.stat().st_mtime_ns}"
        if _verified.get(path) == stamp:
            return path
        entry = read_manifest(directory)["files"].get(path.name)
        if not isinstance(entry, dict) or "sha256" not in entry:
            raise ConfigError(f"model {path.name} is not listed in {directory / MANIFEST}")
        actual = _sha256(path)
        if actual != entry["sha256"]:
            raise ConfigError(
                f"model {path.name} failed its checksum (expected sha256 {entry['sha256'][:12]}…, "
                f"got {actual[:12]}…): the file is corrupted or was replaced; reinstall the models"
            )
        _verified[path] = stamp
        return path


def model_info(name: str) -> dict[str, Any]:
    """The manifest entry of a model (source, licence, version) — recorded with decisions."""
    path = model_file(name)
    entry = read_manifest(path.parent)["files"][name]
    return dict(entry)
