"""Templates with today's algorithm version strings store and read back on both databases (the face version,
101 characters, overflowed the old 64-character column on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import numpy as np

from idverify.biometrics.face.engine import ALGORITHM_VERSION
from idverify.biometrics.face.template import combine
from idverify.store.models import Patient
from idverify.workflow import templates


def test_face_template_with_the_full_version_string_round_trips(db_url: str, make_app: Any) -> None:
    assert len(ALGORITHM_VERSION) > 64
    daemon = make_app(db_url)
    ctx = daemon.app.state.ctx
    vector = np.random.default_rng(0).standard_normal(128).astype(np.float32)
    tpl = combine([vector], ALGORITHM_VERSION)
    with ctx.session_factory() as db:
        patient = Patient(id="p-1", sex="F", document_type="cn_resident_id", document_lookup="0" * 64,
                          identity=b"sealed", kek_id="k")
        db.add(patient)
        db.flush()
        templates.store(db, ctx.keys, patient_id="p-1", modality="face", plaintext=tpl.to_bytes(),
                        algorithm_version=ALGORITHM_VERSION, quality=0.9)
        db.commit()
    with ctx.session_factory() as db:
        back = templates.face_template(db, ctx.keys, "p-1")
    assert back is not None and back.algorithm_version == ALGORITHM_VERSION
    np.testing.assert_array_equal(back.vector, tpl.vector)
