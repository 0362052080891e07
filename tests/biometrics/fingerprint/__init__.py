"""Fingerprint extraction, MCC matching, ISO/IEC 19794-2 templates, 1:N and the benchmark."""
