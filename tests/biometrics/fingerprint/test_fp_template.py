"""Template formats: the own binary format and ISO/IEC 19794-2 round trips, and refusal of damaged input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idverify.biometrics.fingerprint import FingerprintTemplate, MinutiaKind, iso19794
from idverify.errors import ValidationFailed


def _random_template(seed: int, n: int = 40) -> FingerprintTemplate:
    rng = np.random.default_rng(seed)
    return FingerprintTemplate(rng.uniform(0, 380, (n, 2)), rng.uniform(0, 2 * np.pi, n), rng.integers(0, 3, n),
                               rng.integers(0, 101, n), width=388, height=374, quality=int(rng.integers(0, 101)))


@pytest.mark.parametrize("seed", range(5))
def test_own_format_round_trip(seed: int) -> None:
    t = _random_template(seed)
    back = FingerprintTemplate.from_bytes(t.to_bytes())
    assert len(back) == len(t)
    assert (back.width, back.height, back.quality) == (t.width, t.height, t.quality)
    np.testing.assert_allclose(back.xy, t.xy, atol=1 / 16 + 1e-4)
    dang = np.angle(np.exp(1j * (back.angle.astype(np.float64) - t.angle)))
    assert np.max(np.abs(dang)) < 2 * np.pi / 65536 + 1e-5
    assert np.array_equal(back.kind, t.kind)
    assert np.array_equal(back.minutia_quality, t.minutia_quality)


def test_own_format_is_compact_and_versioned() -> None:
    data = _random_template(1, n=50).to_bytes()
    assert data[:4] == b"IVFP"
    assert data[4] == 1  # format version
    assert len(data) == 13 + 50 * 8 + 4


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic"])
def test_own_format_refuses_damaged_bytes(damage: str) -> None:
    data = bytearray(_random_template(2).to_bytes())
    if damage == "flip":
        data[20] ^= 0x40
    elif damage == "truncate":
        data = data[:10]
    else:
        data[0:4] = b"XXXX"
    with pytest.raises(ValidationFailed):
        FingerprintTemplate.from_bytes(bytes(data))


@pytest.mark.parametrize("seed", range(3))
def test_iso_round_trip(seed: int) -> None:
    t = _random_template(seed)
    back = iso19794.decode(iso19794.encode(t))
    assert len(back) == len(t)
    order_t = np.lexsort((t.xy[:, 1].round(), t.xy[:, 0].round()))
    order_b = np.lexsort((back.xy[:, 1], back.xy[:, 0]))
    np.testing.assert_allclose(back.xy[order_b], t.xy[order_t].round(), atol=0.51)
    dang = np.angle(np.exp(1j * (back.angle[order_b].astype(np.float64) - t.angle[order_t])))
    assert np.max(np.abs(dang)) <= np.pi / 256 + 1e-5  # ISO angle unit is 360/256 degrees
    assert np.array_equal(back.kind[order_b], t.kind[order_t])
    assert (back.width, back.height, back.quality) == (t.width, t.height, t.quality)


def test_iso_layout_and_record_length() -> None:
    data = iso19794.encode(_random_template(3, n=30))
    assert data[:8] == b"FMR\0 20\0"
    assert int.from_bytes(data[8:12], "big") == len(data) == 24 + 4 + 30 * 6 + 2
    assert data[27] == 30  # minutia count of the single finger view


def test_iso_refuses_foreign_or_truncated_records() -> None:
    good = iso19794.encode(_random_template(4))
    with pytest.raises(ValidationFailed):
        iso19794.decode(b"FIR\0 10\0" + good[8:])
    with pytest.raises(ValidationFailed):
        iso19794.decode(good[:60])


def test_sdk_iso_templates_decode_and_reencode_identically(fvc_db1: Path) -> None:
    files = sorted((fvc_db1 / "iso").glob("10[1-3]_*.iso"))
    assert files
    for path in files:
        raw = path.read_bytes()
        t = iso19794.decode(raw)
        assert len(t) == raw[27]
        assert set(np.unique(t.kind)) <= {int(MinutiaKind.ENDING), int(MinutiaKind.BIFURCATION), 0}
        again = iso19794.decode(iso19794.encode(t))
        assert sorted(map(tuple, again.xy.tolist())) == sorted(map(tuple, t.xy.tolist()))


def test_repr_carries_no_minutiae() -> None:
    t = _random_template(5)
    text = repr(t)
    assert "minutiae=40" in text
    assert str(float(t.xy[0, 0])) not in text
