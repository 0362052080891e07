"""Device-path timings against the simulators with wire pacing at the real baud rates (not a test: numbers).

* GA 467: find + select + read base message (1295-byte answer) at 115200 baud (``--ga467-baud``).
* ZhianTec: GenImg + UpImage (36,864 image bytes in 288 packets of 128 bytes, ~40 kB on the wire) at 57600 baud,
  and again after the driver switched the module to 115200 (``fast_baud``, what the daemon does by default).

The simulators answer instantly apart from the wire time, so these are lower bounds for real hardware: a real SAM
spends a few hundred milliseconds on the card's RF exchange, and a real sensor ~0.3–0.5 s taking the image.

    python -m hardware_fixtures.bench_devices [--reads 10] [--captures 3] [--images DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hardware_fixtures.ga467 import Ga467Simulator
from hardware_fixtures.synthetic import synthetic_images
from hardware_fixtures.zhiantec import ZhianTecSimulator
from idverify.devices.ga467 import Ga467Reader
from idverify.devices.zhiantec import ZhianTecSensor


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(samples) * 1000, 1),
        "min_ms": round(min(samples) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
        "n": len(samples),
    }


def bench_ga467(reads: int, baud: int, realtime: bool = True) -> dict[str, float]:
    with Ga467Simulator(baud=baud, realtime=realtime) as sim, Ga467Reader(sim.port, baud) as reader:
        reader.read_document()  # warm-up: port open, imports
        samples = []
        for _ in range(reads):
            start = time.perf_counter()
            reader.read_document()
            samples.append(time.perf_counter() - start)
    return {**_stats(samples), "baud": baud}


def bench_zhiantec(captures: int, images: Path, baud: int, realtime: bool = True,
                   fast_baud: int | None = None) -> dict[str, float]:
    with ZhianTecSimulator(images, baud=baud, realtime=realtime, strict_baud=True) as sim, \
            ZhianTecSensor(sim.port, baud, fast_baud=fast_baud) as sensor:
        baud = sensor.baud  # after the switch, when one was asked for
        samples = []
        for i in range(captures):
            sim.place(i % len(sim.paths))
            start = time.perf_counter()
            sensor.capture_image(5.0)
            samples.append(time.perf_counter() - start)
    return {**_stats(samples), "baud": baud}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hardware_fixtures.bench_devices", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=10)
    parser.add_argument("--captures", type=int, default=3)
    parser.add_argument("--ga467-baud", type=int, default=115200)
    parser.add_argument("--fingerprint-baud", type=int, default=57600)
    parser.add_argument("--images", type=Path, help="fingerprint images (default: synthetic)")
    parser.add_argument("--no-pacing", action="store_true", help="do not pace the simulators at the baud rate")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    realtime = not args.no_pacing
    with tempfile.TemporaryDirectory() as tmp:
        images = args.images or synthetic_images(Path(tmp))
        result = {
            "ga467_read": bench_ga467(args.reads, args.ga467_baud, realtime),
            "fingerprint_capture_upload": bench_zhiantec(args.captures, images, args.fingerprint_baud, realtime),
            "fingerprint_capture_upload_switched": bench_zhiantec(args.captures, images, args.fingerprint_baud,
                                                                  realtime, fast_baud=115200),
            "paced": realtime,
        }
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
