"""ICAO 9303 eMRTD (passport chip) reading, independent of the transport.

- :mod:`.crypto` – 3DES, retail MAC, ISO 9797-1 padding, the BAC key derivation function.
- :mod:`.bac` – Basic Access Control: document keys from the MRZ, mutual authentication, session keys.
- :mod:`.pace` / :mod:`.ec` – PACE with ECDH generic mapping (3DES or AES; P-256, brainpoolP256r1).
- :mod:`.sm` – 3DES and AES secure messaging (terminal side).
- :mod:`.tlv` / :mod:`.lds` – BER-TLV and the LDS files (EF.COM, DG1 MRZ, DG2 face JPEG / JPEG 2000).
- :mod:`.passive_auth` – EF.SOD: data-group hashes, SOD signature, DS certificate against the CSCA trust store.
- :mod:`.reader` – the command sequence: ``read_document(channel, keys, anchors) -> ReadResult``.

PC/SC transport and the public driver API (``read_emrtd``) live in :mod:`idverify.devices.pcsc`. Not here:
PACE with DH/integrated/CAM mapping or CAN, Active and Chip Authentication (clone detection), CRL checks,
files over 32 767 bytes (odd-INS READ BINARY).
"""
