"""``idverify bench pad``: presentation-attack detection error rates (ISO/IEC 30107-3 APCER per attack species
and BPCER) on a labelled folder (``labels.csv``: ``image,pad_label[,species]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from idverify.console import emit_json, fail
from idverify.errors import IdverifyError


def bench_pad(
    dataset: Annotated[Path, typer.Option(help="Folder with labels.csv and the images it names.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on the last line.")] = False,
) -> None:
    """Liveness (passive PAD) error rates on a labelled folder of bona fide and attack presentations."""
    from idverify.biometrics.pad.evaluate import evaluate_folder

    try:
        result = evaluate_folder(dataset)
    except IdverifyError as exc:
        fail(exc, as_json=as_json)
    result = {"modality": "pad", "dataset": str(dataset), **result}
    if as_json:
        emit_json(result)
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")
