"""The matching core: face, fingerprint, presentation-attack detection, fusion, metrics, benchmarks."""
