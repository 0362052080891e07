"""``python -m hardware_fixtures.emrtd``: run the virtual passport behind pcscd, or benchmark reads of it.

    serve  insert a virtual passport into "Virtual PCD 00 00" and keep it there (Ctrl-C to stop);
           --interactive reads "insert" / "remove" / "quit" commands from stdin.
    bench  start pcscd if needed, insert the passport, time complete reads, print one JSON line.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from pathlib import Path

from hardware_fixtures.emrtd.card import EmrtdChip, Faults, PaceConfig
from hardware_fixtures.emrtd.identity import TestIdentity, build_files, load_photo
from hardware_fixtures.emrtd.pcscd import VPCD_READER, VPCD_TEST_PORT, VPCD_TEST_READER, Pcscd
from hardware_fixtures.emrtd.pki import TestPki
from hardware_fixtures.emrtd.vpcd import VPCD_PORT, VirtualCard
from idverify.documents.mrz import BacKeys

PACE_CHOICES = {
    "aes128": "0.4.0.127.0.7.2.2.4.2.2",
    "aes192": "0.4.0.127.0.7.2.2.4.2.3",
    "aes256": "0.4.0.127.0.7.2.2.4.2.4",
    "3des": "0.4.0.127.0.7.2.2.4.2.1",
}


def _add_card_options(parser: argparse.ArgumentParser) -> None:
    ident = TestIdentity()
    parser.add_argument("--document-number", default=ident.document_number)
    parser.add_argument("--birth-date", default=ident.birth_date, help="YYMMDD")
    parser.add_argument("--expiry-date", default=ident.expiry_date, help="YYMMDD")
    parser.add_argument("--surname", default=ident.surname)
    parser.add_argument("--given-names", default=ident.given_names)
    parser.add_argument("--nationality", default=ident.nationality, help="ISO 3166 alpha-3 (also the issuer)")
    parser.add_argument("--sex", default=ident.sex, choices=["F", "M", "<"])
    parser.add_argument("--td1", action="store_true", help="ID-card size MRZ (3x30), as on travel permits")
    parser.add_argument("--document-code", default="P", help="MRZ document code (P passport, CS permit …)")
    parser.add_argument("--photo", type=Path, help="face image file (default: a generated drawing)")
    parser.add_argument("--jp2", action="store_true", help="encode the generated face as JPEG 2000")
    parser.add_argument("--signature", default="ecdsa", choices=["ecdsa", "rsa", "rsa-pss"],
                        help="DS signature algorithm of EF.SOD")
    parser.add_argument("--pace", choices=sorted(PACE_CHOICES), help="also offer PACE (EF.CardAccess)")
    parser.add_argument("--pace-curve", type=int, choices=[12, 13], default=13,
                        help="PACE domain parameters: 12 NIST P-256, 13 brainpoolP256r1")
    parser.add_argument("--no-bac", action="store_true", help="PACE-only chip (refuses BAC)")
    parser.add_argument("--no-sod", action="store_true", help="leave EF.SOD off the chip")
    parser.add_argument("--tamper-dg", type=int, choices=[1, 2], help="alter this DG after signing the SOD")
    parser.add_argument("--pull-after", type=int, metavar="N", help="leave the field after N READ BINARY")
    parser.add_argument("--bad-mac", action="store_true", help="answer with wrong secure-messaging MACs")
    parser.add_argument("--stall-after", type=int, metavar="N", help="stop answering after N READ BINARY")
    parser.add_argument("--csca-out", type=Path, help="write the test CSCA certificate into this directory")
    parser.add_argument("--host", default="127.0.0.1", help="where pcscd's vpcd listens")
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="35963 = 'Virtual PCD 00 00'")


def _build(args: argparse.Namespace) -> tuple[VirtualCard, TestIdentity, TestPki]:
    identity = TestIdentity(
        document_number=args.document_number.upper(), surname=args.surname.upper(),
        given_names=args.given_names.upper(), nationality=args.nationality.upper(),
        issuer=args.nationality.upper(), sex=args.sex, birth_date=args.birth_date, expiry_date=args.expiry_date,
        photo=load_photo(args.photo) if args.photo else None, photo_format="jp2" if args.jp2 else "jpeg",
        mrz_format="TD1" if args.td1 else "TD3", document_code=args.document_code.upper(),
    )
    keys = BacKeys(identity.document_number, identity.birth_date, identity.expiry_date)
    pki = TestPki.generate(signature=args.signature)
    files = build_files(identity, None if args.no_sod else pki, tamper_dg=args.tamper_dg)
    pace = PaceConfig(PACE_CHOICES[args.pace], args.pace_curve) if args.pace else None
    chip = EmrtdChip(files, keys, faults=Faults(
        pull_after_reads=args.pull_after, bad_response_mac=args.bad_mac, stall_after_reads=args.stall_after),
        pace=pace, bac=not args.no_bac)
    return VirtualCard(chip, host=args.host, port=args.port), identity, pki


def _serve(args: argparse.Namespace) -> int:
    pcscd = Pcscd.ensure() if args.start_pcscd else None
    card, identity, pki = _build(args)
    csca = pki.write_csca(args.csca_out) if args.csca_out else None
    card.insert()
    print(json.dumps({
        "reader": VPCD_READER if args.port == VPCD_PORT else f"vpcd port {args.port}",
        "document_number": identity.document_number, "birth_date": identity.birth_date,
        "expiry_date": identity.expiry_date, "csca": str(csca) if csca else None, "inserted": True,
    }), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if args.interactive:
            for line in sys.stdin:
                command = line.strip().lower()
                if command == "insert":
                    card.insert()
                elif command == "remove":
                    card.remove()
                elif command in ("quit", "exit"):
                    break
                elif command:
                    print("commands: insert, remove, quit", file=sys.stderr)
                    continue
                print(json.dumps({"inserted": card.inserted}), flush=True)
        else:
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
        if pcscd is not None:
            pcscd.stop()
    return 0


def _bench(args: argparse.Namespace) -> int:
    from idverify.devices.pcsc import PcscReader
    from idverify.devices.pcsc_bench import time_reads

    pcscd = Pcscd.ensure()
    args.port = VPCD_TEST_PORT  # slot 1, so a demo's passport in slot 0 is left alone
    card, identity, pki = _build(args)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            csca_dir = None
            if not args.no_anchors:
                csca_dir = Path(tmp)
                pki.write_csca(csca_dir)
            reader = PcscReader(VPCD_TEST_READER)
            if not reader.wait_for_removal(5):
                raise RuntimeError(f"another process keeps a card in {VPCD_TEST_READER}")
            card.insert()
            if not reader.wait_for_card(5):
                raise RuntimeError("pcscd did not see the virtual card")
            keys = BacKeys(identity.document_number, identity.birth_date, identity.expiry_date)
            result = time_reads(reader, keys, csca_dir, args.reads)
    finally:
        card.remove()
        pcscd.stop()
    result["transport"] = "pcscd+vpcd (virtual chip, loopback TCP)"
    print(json.dumps(result), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hardware_fixtures.emrtd", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="insert a virtual passport and keep it in the reader")
    _add_card_options(serve)
    serve.add_argument("--start-pcscd", action="store_true", help="start pcscd if it is not running")
    serve.add_argument("--interactive", action="store_true", help="read insert/remove/quit from stdin")
    bench = sub.add_parser("bench", help="time complete reads through pcscd")
    _add_card_options(bench)
    bench.add_argument("--reads", type=int, default=20)
    bench.add_argument("--no-anchors", action="store_true", help="no CSCA (passive auth not_verified)")
    args = parser.parse_args(argv)
    return _serve(args) if args.command == "serve" else _bench(args)


if __name__ == "__main__":
    sys.exit(main())
