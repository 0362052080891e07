"""Face detection, quality, encoding, 1:1 and 1:N search, thresholds and the face benchmark."""
