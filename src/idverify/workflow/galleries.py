"""Enrolled templates held in memory for 1:N duplicate searches, per daemon.

Loaded from the encrypted ``biometric_templates`` table on first use and re-synchronised before each search by
comparing template ids with the database (cheap: ids only), so daemons sharing one PostgreSQL database see each
other's enrolments and deletions. Decrypted templates live only in this process's memory.

Fingerprints are searched through :class:`FingerprintGallery`, the path ``idverify bench search`` measures: every
template is matched in full while the gallery holds at most ``PREFILTER_K`` (1,000) of them, about 500 patients
with two fingers each; beyond that only the pre-filter's best 1,000 (recall figures in ``search.PREFILTER_K``).
Matching every template was exact but linear: about 30 µs per enrolled finger once its cylinders exist and 1.9 ms
when they are built on first use, so a daemon's first duplicate check over 20,000 fingers would cost about 40 s.
An enrolment searches each of its two fingers and the face, so a duplicate is missed only when all three miss.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session

from idverify.biometrics.face.search import FaceGallery
from idverify.biometrics.face.template import FaceTemplate
from idverify.biometrics.fingerprint.search import FingerprintGallery
from idverify.biometrics.fingerprint.template import FingerprintTemplate
from idverify.store.keys import Keys
from idverify.workflow.repositories import templates as templates_repo


def template_aad(template_id: str) -> str:
    return f"template:{template_id}"


@dataclass(frozen=True)
class Candidate:
    patient_id: str
    modality: str
    score: float


class Galleries:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.face = FaceGallery()
        self._fingers = FingerprintGallery()
        self._owner: dict[str, str] = {}  # template id -> patient id
        self._modality: dict[str, str] = {}

    def sync(self, db: Session, keys: Keys) -> None:
        wanted = templates_repo.gallery_index(db)
        with self._lock:
            for gone in set(self._owner) - set(wanted):
                self._drop(gone)
            missing = [tid for tid in wanted if tid not in self._owner]
        if not missing:
            return
        for row in templates_repo.by_ids(db, missing):
            self.add(row.id, row.patient_id, row.modality, keys.ring.decrypt(row.envelope, template_aad(row.id)))

    def add(self, template_id: str, patient_id: str, modality: str, plaintext: bytes) -> None:
        with self._lock:
            if template_id in self._owner:
                return
            if modality == "face":
                self.face.add(template_id, FaceTemplate.from_bytes(plaintext))
            else:
                self._fingers.add(template_id, FingerprintTemplate.from_bytes(plaintext))
            self._owner[template_id] = patient_id
            self._modality[template_id] = modality

    def _drop(self, template_id: str) -> None:
        if self._modality.pop(template_id, None) == "face":
            self.face.remove(template_id)
        self._fingers.remove(template_id)
        self._owner.pop(template_id, None)

    def remove_patient(self, patient_id: str) -> None:
        with self._lock:
            for tid in [t for t, p in self._owner.items() if p == patient_id]:
                self._drop(tid)

    def face_candidates(self, template: FaceTemplate, *, exclude: str, min_score: float) -> list[Candidate]:
        hits = self.face.search(template, k=10, min_score=min_score)
        with self._lock:
            return [Candidate(self._owner[h.template_id], "face", h.score) for h in hits
                    if h.template_id in self._owner and self._owner[h.template_id] != exclude]

    def finger_candidates(self, probe: FingerprintTemplate, *, exclude: str, min_score: float) -> list[Candidate]:
        """Other patients' fingers scoring at least ``min_score`` against ``probe``, best first.

        Held under the lock: the gallery is not thread-safe, and enrolments (the only searchers) are rare.
        """
        with self._lock:
            hits = self._fingers.search(probe, top_k=self._fingers.prefilter_k)  # every candidate matched
            return [Candidate(self._owner[tid], "fingerprint", score) for tid, score in hits
                    if score >= min_score and self._owner[tid] != exclude]

    def __len__(self) -> int:
        return len(self._owner)
