"""Device simulators for tests, benchmarks and ``idverify demo``: a GA 467 ID reader and a ZhianTec fingerprint
sensor on pseudo-terminals, and a camera frame source from image files. Not shipped in the wheel."""
