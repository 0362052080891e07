"""Median fingerprint extraction CPU time per image, per FVC set, for any released version or LODO grid entry.

Why: ``idverify bench fingerprint`` times only the shipped configuration (and matches every pair besides); a
candidate such as ``local-block64-hull41`` has to be judged against the speed budget the same way before it ships.
Timed exactly as the bench times ours: ``time.process_time`` (every thread of the process counted, OpenCV left at
its default thread count) around ``analyse`` + ``template_of``, the quality gates off, the
image already decoded; one untimed extraction first loads the compiled kernels.

    PYTHONPATH=$PWD/src:$PWD python tools/fp_extract_time.py --config local-smooth0 --config fp/1.4 \\
        /work/shared/data/fingerprint/*
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import cv2
import numpy as np

from idverify.bench.cli_args import folder
from idverify.bench.fingerprint import DEFAULT_DPI, dataset_dpi, list_dataset, load_grey
from idverify.bench.lodo_fingerprint import GRID, RELEASES
from idverify.biometrics.fingerprint.extract import SHIPPED, ExtractorConfig, analyse, template_of
from idverify.errors import BiometricError


def extract_ms(dataset: Path, config: ExtractorConfig) -> list[float]:
    """CPU ms of every image of ``dataset`` (list order), extracted with ``config`` at the set's resolution."""
    dpi = dataset_dpi(dataset) or DEFAULT_DPI
    images = [load_grey(im.path) for im in list_dataset(dataset)]
    times = []
    for img in images:
        t0 = time.process_time()
        with contextlib.suppress(BiometricError):  # a failure is timed too, as the bench does
            template_of(analyse(img, dpi, config=config), config)
        times.append((time.process_time() - t0) * 1000)
    return times


def main() -> None:
    configs = {**RELEASES, **GRID}  # RELEASES ends with SHIPPED
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("datasets", nargs="+", type=folder, help="FVC set folders")
    p.add_argument("--config", action="append", choices=list(configs),
                   help=f"released version or grid entry (repeatable; default {SHIPPED.name}, the shipped one)")
    p.add_argument("--cv-threads", type=int, default=None,
                   help="cv2.setNumThreads first (default: OpenCV's own choice, as the bench; LODO runs with 1)")
    args = p.parse_args()
    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    names = args.config or [SHIPPED.name]
    first = load_grey(list_dataset(args.datasets[0])[0].path)
    for name in names:  # untimed: numba loads (or compiles) its kernels, caches fill
        with contextlib.suppress(BiometricError):
            analyse(first, config=configs[name])
    result: dict[str, dict[str, float]] = {name: {} for name in names}
    for d in args.datasets:
        for name in names:
            result[name][d.name] = round(float(np.median(extract_ms(d, configs[name]))), 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
