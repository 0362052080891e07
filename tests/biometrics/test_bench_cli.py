"""`idverify bench fingerprint|face --json --plot`: one JSON object with the documented keys on the last line of
stdout, the table on stderr, and the DET plot written — on a two-identity slice of the sample sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idverify.cli import app

SUMMARY_KEYS = {"modality", "dataset", "genuine", "impostor", "fta", "eer", "fmr100", "fmr1000", "zero_fmr",
             "extract_ms_median", "match_per_s", "peer"}


def _run(args: list[str]) -> dict[str, object]:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, lines  # table and logs (the engines' load lines) go to stderr, not before the JSON
    summary: dict[str, object] = json.loads(lines[0])
    return summary


def test_bench_fingerprint_cli(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "fingerprint" / "FVC2002_DB1_B"
    data = tmp_path / "fvc"
    data.mkdir()
    for finger in ("101", "102"):
        for impression in (1, 2, 3):
            shutil.copy(src / f"{finger}_{impression}.tif", data)
    plot = tmp_path / "det.png"
    summary = _run(["bench", "fingerprint", "--dataset", str(data), "--protocol", "full", "--no-peer", "--json",
                    "--plot", str(plot)])
    assert set(summary) >= SUMMARY_KEYS
    assert summary["modality"] == "fingerprint" and summary["peer"] is None
    assert summary["genuine"] == 6 and summary["impostor"] == 9  # 2 x C(3,2); 3 x 3 cross-finger pairs
    assert plot.is_file() and plot.read_bytes()[:4] == b"\x89PNG"


def test_bench_face_cli(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "face" / "asian_dev"
    if not src.is_dir():
        pytest.skip("asian_dev missing")
    data = tmp_path / "faces"
    for person in ("cn_s2", "cn_s10"):
        (data / person).mkdir(parents=True)
        for image in sorted((src / person).glob("*.jpg"))[:2]:
            shutil.copy(image, data / person)
    summary = _run(["bench", "face", "--dataset", str(data), "--no-peer", "--json"])
    assert set(summary) >= SUMMARY_KEYS
    assert summary["modality"] == "face" and summary["genuine"] == 2 and summary["impostor"] == 4


def _fvc_slice(src: Path, dest: Path, fingers: tuple[str, ...], impressions: tuple[int, ...],
               dpi: int | None = None, iso: bool = False) -> Path:
    dest.mkdir()
    for finger in fingers:
        for impression in impressions:
            shutil.copy(src / f"{finger}_{impression}.tif", dest)
            if iso:
                (dest / "iso").mkdir(exist_ok=True)
                shutil.copy(src / "iso" / f"{finger}_{impression}.iso", dest / "iso")
    if dpi is not None:
        (dest / "dataset.json").write_text(json.dumps({"dpi": dpi}), encoding="utf-8")
    return dest


def test_bench_fingerprint_several_sets(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-set objects plus the pooled one; each set's dataset.json resolution reaches the extractor; our minutiae
    are compared with the set's ISO minutiae."""
    import importlib

    extract = importlib.import_module("idverify.biometrics.fingerprint.extract")  # the package re-exports extract()
    src = shared_data / "fingerprint" / "FVC2002_DB1_B"
    plain = _fvc_slice(src, tmp_path / "plain", ("101", "102"), (1, 2), iso=True)
    wide = _fvc_slice(src, tmp_path / "wide", ("103", "104"), (1, 2), dpi=569)
    seen: list[int] = []
    analyse = extract.analyse

    def spy(image: object, dpi: int = 500, **kw: bool) -> object:
        seen.append(dpi)
        return analyse(image, dpi, **kw)

    monkeypatch.setattr(extract, "analyse", spy)
    summary = _run(["bench", "fingerprint", "--dataset", str(plain), "--dataset", str(wide), "--protocol", "full",
                    "--no-peer", "--json"])
    sets, pooled = summary["sets"], summary["pooled"]
    assert isinstance(sets, list) and isinstance(pooled, dict)
    assert [s["dataset"] for s in sets] == ["plain", "wide"] and pooled["dataset"] == "pooled"
    assert set(sets[0]) >= SUMMARY_KEYS and set(pooled) >= SUMMARY_KEYS
    assert (sets[0]["dpi"], sets[0]["dpi_source"]) == (500, "assumed")
    assert any("500 dpi assumed" in n for n in sets[0]["notes"])
    assert (sets[1]["dpi"], sets[1]["dpi_source"]) == (569, "dataset.json")
    assert seen == [500] * 4 + [569] * 4  # the stated resolution went to the extractor
    assert pooled["genuine"] == 4 and pooled["impostor"] == 8  # each set's own pairs: 2 + 2, 4 + 4
    assert pooled["sets"] == ["plain", "wide"]
    vs_iso = sets[0]["minutiae_vs_iso"]
    assert vs_iso["images"] == 4 and 0 < vs_iso["paired"] <= min(vs_iso["ours"], vs_iso["theirs"])
    assert vs_iso["recall"] == round(vs_iso["paired"] / vs_iso["theirs"], 4)
    assert vs_iso["registered"] == 4 and vs_iso["frames"] == ["iso 300x400, image 388x374"]
    assert vs_iso["recall"] > 0.15  # registered; unregistered, these four prints paired 2 of ~90 minutiae
    assert "minutiae_vs_iso" not in sets[1]  # no iso/ folder


def test_bench_fingerprint_refuses_a_bad_dataset_json(shared_data: Path, tmp_path: Path) -> None:
    data = _fvc_slice(shared_data / "fingerprint" / "FVC2002_DB1_B", tmp_path / "bad", ("101", "102"), (1,))
    (data / "dataset.json").write_text('{"dpi": "high"}', encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "fingerprint", "--dataset", str(data), "--no-peer", "--json"])
    assert result.exit_code != 0
    assert json.loads(result.stdout.strip().splitlines()[-1])["error"]["code"] == "validation_error"


def test_minutia_pairing_rule() -> None:
    import numpy as np

    from idverify.bench.fingerprint import pair_minutiae
    from idverify.biometrics.fingerprint.template import FingerprintTemplate

    def tpl(xy: list[tuple[float, float]], angles: list[float]) -> FingerprintTemplate:
        n = len(xy)
        return FingerprintTemplate(np.asarray(xy, dtype=np.float64), np.radians(angles), np.zeros(n, np.uint8),
                                   np.full(n, 60, np.uint8), width=300, height=300, quality=60)

    ref = tpl([(50, 50), (100, 100), (150, 150)], [10, 90, 355])
    assert pair_minutiae(ref, ref) == 3
    assert pair_minutiae(tpl([(58, 56)], [28]), ref) == 1  # 10 px and 18 degrees away: pairs
    assert pair_minutiae(tpl([(150, 150)], [12]), ref) == 1  # 355 and 12 degrees are 17 apart across zero
    assert pair_minutiae(tpl([(61, 50)], [10]), ref) == 0  # 11 px
    assert pair_minutiae(tpl([(50, 50)], [35]), ref) == 0  # 25 degrees
    assert pair_minutiae(tpl([(50, 50), (52, 50)], [10, 10]), ref) == 1  # one-to-one


def test_register_iso_undoes_the_sdk_stretch() -> None:
    """A record made from the image stretched to 300×400 comes back to the image's frame: positions per axis,
    ridge directions by the same stretch (a diagonal ridge in a squeezed image is steeper)."""
    import numpy as np

    from idverify.bench.fingerprint import pair_minutiae, register_iso
    from idverify.biometrics.fingerprint.template import FingerprintTemplate

    rng = np.random.default_rng(7)
    n, width, height = 30, 388, 374
    xy = rng.uniform([20, 20], [width - 20, height - 20], size=(n, 2))
    angle = rng.uniform(0, 2 * np.pi, size=n)
    kind, quality = np.ones(n, dtype=np.uint8), np.full(n, 80, dtype=np.uint8)
    image = FingerprintTemplate(xy, angle, kind, quality, width=width, height=height, quality=90)
    sx, sy = 300 / width, 400 / height
    stretched = FingerprintTemplate(xy * [sx, sy], np.arctan2(sy * np.sin(angle), sx * np.cos(angle)), kind, quality,
                                    width=300, height=400, quality=90)
    assert pair_minutiae(image, stretched) < n  # compared as they are, the frames disagree
    back = register_iso(stretched, width, height)
    assert np.allclose(back.xy, image.xy, atol=1e-3)
    turn = np.abs(np.angle(np.exp(1j * (back.angle.astype(np.float64) - image.angle))))
    assert turn.max() < 1e-4
    assert pair_minutiae(image, back) == n
    assert register_iso(image, width + 5, height - 5) is image  # within 5 %: the same frame, left alone
