"""Entry point: ``python -m idverify.biometrics.fingerprint.calibrate FVC_DIR [FVC_DIR ...] [--out FILE]``.

Writes ``models/thresholds_fingerprint.json`` (see :mod:`idverify.biometrics.fingerprint.thresholds`). A separate
module so that ``-m`` does not re-execute a module the package has already imported.
"""

from __future__ import annotations

import sys

from idverify.biometrics.fingerprint.thresholds import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
