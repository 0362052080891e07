"""Device simulators for tests, benchmarks and ``idverify demo``: a GA 467 ID reader and a ZhianTec fingerprint
sensor on pseudo-terminals, and a camera frame source from image files; :mod:`hardware_fixtures.wiring` starts a
whole simulated workstation for the device manager. Shipped in the wheel (``idverify demo`` runs them); the sample
data they can serve in development is not."""
