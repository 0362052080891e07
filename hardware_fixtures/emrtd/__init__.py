"""A virtual ICAO 9303 eMRTD chip (BAC, optional PACE, secure messaging, EF.COM/DG1/DG2/EF.SOD) served to the real
``pcscd`` through vsmartcard's ``vpcd`` driver, with a test PKI generated at run time and fault injection.

Our own card side (the ``virtualsmartcard`` package's ePass card is BAC-only without an EF.SOD and broken on
Python 3 in Debian). See README.md in this folder. Shipped in the wheel for ``idverify demo``; no private keys
are committed: every CSCA/DS key pair is generated when a fixture starts.
"""

from hardware_fixtures.emrtd.card import EmrtdChip, Faults, PaceConfig
from hardware_fixtures.emrtd.identity import TestIdentity, build_files
from hardware_fixtures.emrtd.pki import TestPki
from hardware_fixtures.emrtd.vpcd import VPCD_PORT, VirtualCard

__all__ = ["VPCD_PORT", "EmrtdChip", "Faults", "PaceConfig", "TestIdentity", "TestPki", "VirtualCard", "build_files"]
