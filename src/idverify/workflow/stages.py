"""Treatment cycles, their stages, and which partner each stage verifies.

The defaults follow the Chinese ART rules: gametes and embryos may only be handled for the couple under
treatment, so the man is verified at sperm retrieval and the woman at egg retrieval and (frozen) embryo transfer.
Donor-sperm cycles have no male partner to verify. Clinics can change the subject per stage in the policy.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    SPERM_RETRIEVAL = "sperm_retrieval"
    EGG_RETRIEVAL = "egg_retrieval"
    EMBRYO_TRANSFER = "embryo_transfer"
    FROZEN_EMBRYO_TRANSFER = "frozen_embryo_transfer"
    IUI_INSEMINATION = "iui_insemination"
    PRENATAL_REGISTRATION = "prenatal_registration"
    BIRTH_CERTIFICATE = "birth_certificate"


class CycleKind(StrEnum):
    IVF = "ivf"
    ICSI = "icsi"
    FET = "fet"
    IUI = "iui"
    DONOR_SPERM_IVF = "donor_sperm_ivf"
    DONOR_SPERM_IUI = "donor_sperm_iui"


class Subject(StrEnum):
    FEMALE = "female"
    MALE = "male"
    BOTH = "both"


DEFAULT_STAGES: dict[CycleKind, tuple[Stage, ...]] = {
    CycleKind.IVF: (Stage.SPERM_RETRIEVAL, Stage.EGG_RETRIEVAL, Stage.EMBRYO_TRANSFER),
    CycleKind.ICSI: (Stage.SPERM_RETRIEVAL, Stage.EGG_RETRIEVAL, Stage.EMBRYO_TRANSFER),
    CycleKind.FET: (Stage.FROZEN_EMBRYO_TRANSFER,),
    CycleKind.IUI: (Stage.SPERM_RETRIEVAL, Stage.IUI_INSEMINATION),
    CycleKind.DONOR_SPERM_IVF: (Stage.EGG_RETRIEVAL, Stage.EMBRYO_TRANSFER),
    CycleKind.DONOR_SPERM_IUI: (Stage.IUI_INSEMINATION,),
}
OPTIONAL_STAGES = (Stage.PRENATAL_REGISTRATION, Stage.BIRTH_CERTIFICATE)

DEFAULT_SUBJECT: dict[Stage, Subject] = {
    Stage.SPERM_RETRIEVAL: Subject.MALE,
    Stage.EGG_RETRIEVAL: Subject.FEMALE,
    Stage.EMBRYO_TRANSFER: Subject.FEMALE,
    Stage.FROZEN_EMBRYO_TRANSFER: Subject.FEMALE,
    Stage.IUI_INSEMINATION: Subject.FEMALE,
    Stage.PRENATAL_REGISTRATION: Subject.FEMALE,
    Stage.BIRTH_CERTIFICATE: Subject.FEMALE,
}


def needs_male_partner(kind: CycleKind) -> bool:
    return kind not in (CycleKind.DONOR_SPERM_IVF, CycleKind.DONOR_SPERM_IUI)
