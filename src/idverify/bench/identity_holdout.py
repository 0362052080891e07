"""Leave-one-identity-out estimate of a threshold rule's error rates, shared by the two calibration tools.

Why: a threshold set on the dev pairs and then measured on the same pairs reports the FMR it was chosen to hit. The
honest estimate sets the threshold again for each identity (a face of one person, one finger of one set) *without
any pair of that identity*, and counts the errors that threshold makes on the identity's own pairs; the counts are
summed over identities. The face and fingerprint tools hold their pairs differently (a similarity matrix per set;
one flat array over all sets with cross-set impostors) and their rules differ (tail extrapolation; per-set and
pooled maxima), so each passes its rule and its pairs as two functions and only the tally lives here.

Owns: the tally and the figures' names in the thresholds files (``fmr``, ``fnmr``, ``false_matches``,
``impostor_pairs``, ``false_non_matches``, ``genuine_pairs``). Must not touch: any rule or score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

Identity = TypeVar("Identity")


def leave_one_identity_out(identities: Iterable[Identity], threshold_without: Callable[[Identity], float],
                           own_pairs: Callable[[Identity], tuple[NDArray[np.float64], NDArray[np.float64]]]
                           ) -> dict[str, Any]:
    """For each identity: ``threshold_without(identity)`` (the rule applied to every pair but the identity's own)
    and the errors at it on ``own_pairs(identity)`` (its genuine scores, its impostor scores; a pair counts with
    accept at score ≥ threshold); summed over identities."""
    fm = impostors = fn = genuines = 0
    for ident in identities:
        t = threshold_without(ident)
        genuine, impostor = own_pairs(ident)
        fn += int(np.sum(genuine < t))
        genuines += int(genuine.size)
        fm += int(np.sum(impostor >= t))
        impostors += int(impostor.size)
    return {"fmr": fm / max(impostors, 1), "fnmr": fn / max(genuines, 1), "false_matches": fm,
            "impostor_pairs": impostors, "false_non_matches": fn, "genuine_pairs": genuines}
