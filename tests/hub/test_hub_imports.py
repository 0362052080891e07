"""The hub's app loads none of the clinic daemon's context or biometric stack: every hub worker would otherwise
pay numba's and OpenCV's import (≈ 1 s, hundreds of MB) for engines it never uses, and a hub host would need the
clinic's native libraries."""

from __future__ import annotations

import subprocess
import sys

_CLINIC_ONLY = ("idverify.context", "idverify.api.deps", "idverify.web.pages", "idverify.biometrics", "numba", "cv2")


def test_the_hub_app_does_not_import_the_clinic_stack() -> None:
    code = ("import sys, idverify.hub.app; "
            f"print(sorted(m for m in sys.modules if m.startswith({_CLINIC_ONLY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
