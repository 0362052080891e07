"""Templates with today's algorithm version strings store and read back on both databases (the face version,
101 characters, overflowed the old 64-character column on PostgreSQL); fingerprint templates stored by the previous
extractor release are read and compared as they are (re-enrolment is not forced)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hardware_fixtures.fingerprint_synth import impression

from idverify.bench.lodo_fingerprint import RELEASES
from idverify.biometrics.face.engine import ALGORITHM_VERSION
from idverify.biometrics.face.template import combine
from idverify.biometrics.fingerprint.extract import SHIPPED, extract
from idverify.biometrics.operating_points import load_operating_points
from idverify.store.models import Patient
from idverify.workflow import factors, templates

_FP14_VERSION = ("idverify-fp/1.4 (local-period gabor-ridge extractor, 64 px period windows, convex-hull mask,"
                 " mcc16b-lssr matcher)")  # what fp/1.4 recorded


def _patient(db: Any, patient_id: str) -> None:
    db.add(Patient(id=patient_id, sex="F", document_type="cn_resident_id", document_lookup="0" * 64,
                   identity=b"sealed", kek_id="k"))
    db.flush()


def test_face_template_with_the_full_version_string_round_trips(db_url: str, make_app: Any) -> None:
    assert len(ALGORITHM_VERSION) > 64
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    vector = np.random.default_rng(0).standard_normal(128).astype(np.float32)
    tpl = combine([vector], ALGORITHM_VERSION)
    with ctx.session_factory() as db:
        _patient(db, "p-1")
        templates.store(db, ctx.keys, patient_id="p-1", modality="face", plaintext=tpl.to_bytes(),
                        algorithm_version=ALGORITHM_VERSION, quality=0.9)
        db.commit()
    with ctx.session_factory() as db:
        back = templates.face_template(db, ctx.keys, "p-1")
    assert back is not None and back.algorithm_version == ALGORITHM_VERSION
    np.testing.assert_array_equal(back.vector, tpl.vector)


def test_a_fingerprint_template_of_the_previous_release_is_compared_with_todays_captures(
        db_url: str, make_app: Any) -> None:
    previous = RELEASES["fp/1.4"]
    assert previous != SHIPPED  # the stored side really comes from another extractor configuration
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    old = extract(impression(3, 0), config=previous)
    with ctx.session_factory() as db:
        _patient(db, "p-1")
        templates.store(db, ctx.keys, patient_id="p-1", modality="fingerprint", plaintext=old.to_bytes(),
                        algorithm_version=_FP14_VERSION, quality=old.quality, position="right_index")
        db.commit()
    with ctx.session_factory() as db:
        enrolled = templates.finger_templates(db, ctx.keys, "p-1")
    assert [p for p, _ in enrolled] == ["right_index"]
    threshold = load_operating_points().point("fingerprint", 0.001).threshold
    same = factors.fingerprint_factor([("right_index", impression(3, 1))], enrolled)
    other = factors.fingerprint_factor([("right_index", impression(5, 1))], enrolled)
    assert same.status == other.status == "ok"
    assert same.score is not None and same.score >= threshold
    assert other.score is not None and other.score < threshold
