"""One of the processes of the witness race test: submits checkpoints of a shared log to the witness service on
its own database connection, as fast as it can, resuming from the witness's size after every 409.

argv[1] is a JSON object: database URL, PEM signing key file, log size, the sizes to submit, a wall-clock start
time (so both processes begin together) and the hub data dir. Prints one JSON line with its outcomes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from memlog import MemoryLog  # type: ignore[import-not-found]

from idverify.config import load_hub_settings
from idverify.hub import witness
from idverify.hub.keys import witness_signer
from idverify.ledger.checkpoint import CheckpointSigner
from idverify.ledger.witness_protocol import parse_add_checkpoint
from idverify.store.db import make_engine, make_session_factory


def main() -> None:
    args = json.loads(sys.argv[1])
    key = serialization.load_pem_private_key(Path(args["key_file"]).read_bytes(), password=None)
    log = MemoryLog(signer=CheckpointSigner(key))  # type: ignore[arg-type]
    log.grow(args["log_size"])
    signer = witness_signer(load_hub_settings(data_dir=Path(args["data_dir"]), database_url=args["url"]))
    engine = make_engine(args["url"])
    factory = make_session_factory(engine)
    known, ok, conflicts = 0, [], 0
    while time.time() < args["start_at"]:
        time.sleep(0.001)
    for size in args["sizes"]:
        while size > known:
            body = log.body(known, size)
            req = parse_add_checkpoint(body)
            try:
                witness.add_checkpoint(factory, signer, req)
            except witness.WitnessRefused as exc:
                assert exc.status == 409, exc.message
                conflicts += 1
                known = int(exc.size or 0)
                continue
            ok.append(size)
            known = size
    engine.dispose()
    print(json.dumps({"ok": ok, "conflicts": conflicts}))


if __name__ == "__main__":
    main()
