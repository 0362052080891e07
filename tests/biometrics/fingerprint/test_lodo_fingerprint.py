"""Leave-one-dataset-out selection: a configuration is judged on a set only when chosen on the others."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from idverify.bench import lodo as selection
from idverify.bench import lodo_fingerprint as lodo
from idverify.biometrics.fingerprint.extract import SHIPPED, ExtractorConfig


def _run(eer_like: float, n: int = 200) -> lodo.SetRun:
    """A set whose genuine scores overlap the impostors by about ``eer_like`` (0 = separable)."""
    rng = np.random.default_rng(round(eer_like * 1000))
    impostor = rng.uniform(0.0, 0.1, n)
    genuine = rng.uniform(0.1 - 0.2 * eer_like, 0.3, n)
    return lodo.SetRun(tuple(genuine), tuple(impostor), 40.0, 0, None, None)


def _table(spec: dict[str, dict[str, float]]) -> dict[str, dict[str, lodo.SetRun]]:
    return {cfg: {s: _run(v) for s, v in sets.items()} for cfg, sets in spec.items()}


def test_the_held_out_set_never_chooses_its_own_configuration() -> None:
    # "special" is best on C only (by far), worse elsewhere; "base" is best on A and B
    table = _table({"base": {"A": 0.05, "B": 0.05, "C": 0.5},
                    "special": {"A": 0.3, "B": 0.3, "C": 0.0}})
    rows = {r.dataset: r for r in selection.leave_one_out(table, ["A", "B", "C"], "base")}
    assert rows["C"].chosen == "base"  # chosen on A and B, although "special" is far better on C
    assert rows["C"].eer == pytest.approx(rows["C"].baseline_eer)
    assert rows["C"].eer > 0.1
    assert rows["A"].chosen == "special"  # on B + C pooled, "special" wins (C's huge gap decides)
    assert rows["A"].eer > rows["A"].baseline_eer


def test_ties_go_to_the_first_configuration() -> None:
    table = _table({"first": {"A": 0.1, "B": 0.1}, "second": {"A": 0.1, "B": 0.1}})
    assert selection.choose(table, ["A", "B"])[0] == "first"


def test_pooled_rates_use_each_sets_own_pairs() -> None:
    perfect, poor = _run(0.0), _run(0.6)
    eer_alone, _ = selection.pooled_rates([perfect])
    eer_both, _ = selection.pooled_rates([perfect, poor])
    assert eer_alone == 0.0
    assert eer_both > 0.0


def test_cache_key_ignores_the_name_but_not_the_fields_or_code() -> None:
    renamed = dataclasses.replace(SHIPPED, name="other")
    assert lodo.cache_key(renamed, "A", "c1") == lodo.cache_key(SHIPPED, "A", "c1")
    assert lodo.cache_key(SHIPPED, "A", "c1") != lodo.cache_key(SHIPPED, "A", "c2")
    assert lodo.cache_key(lodo.GRID["local-period"], "A", "c1") != lodo.cache_key(SHIPPED, "A", "c1")
    assert json.loads(lodo.cache_key(SHIPPED, "A", "c1"))["set"] == "A"


def test_grid_starts_with_the_baseline_and_holds_the_shipped_configuration() -> None:
    first = next(iter(lodo.GRID.values()))
    assert first == ExtractorConfig(name="fp/1.2")
    shipped = lodo.shipped_entry(list(lodo.GRID))
    assert shipped == "dry-presmooth0.1-adaptive0.5"  # fp/1.5
    assert dataclasses.replace(lodo.GRID[shipped], name=SHIPPED.name) == SHIPPED


def test_releases_end_with_the_shipped_configuration_and_name_their_grid_entries() -> None:
    assert list(lodo.RELEASES) == ["fp/1.2", "fp/1.3", "fp/1.4", "fp/1.5"]
    assert list(lodo.RELEASES.values())[-1] == SHIPPED
    for version, entry in (("fp/1.2", "fp/1.2"), ("fp/1.3", "local-smooth0"), ("fp/1.4", "local-block64-hull41"),
                           ("fp/1.5", "dry-presmooth0.1-adaptive0.5")):
        assert lodo.RELEASES[version] == dataclasses.replace(lodo.GRID[entry], name=version)


@pytest.mark.parametrize(("name", "changed"), [
    ("local-block48", {"period_block": 48}),
    ("local-block64", {"period_block": 64}),
    ("local-block64-max100", {"period_block": 64, "max_minutiae": 100}),
    ("local-hull41", {"seg_hull": 41}),
    ("local-block64-hull41", {"period_block": 64, "seg_hull": 41}),
    ("local-seg-keep0.6", {"seg_contrast_keep": 0.6}),
])
def test_period_window_and_segmentation_entries_change_only_their_fields(name: str, changed: dict[str, object]) -> None:
    entry = lodo.GRID[name]
    fp13 = lodo.RELEASES["fp/1.3"]  # the entries were added on top of fp/1.3, whatever ships now
    assert dataclasses.replace(fp13, name=name, **changed) == entry  # type: ignore[arg-type]
    for field, value in changed.items():
        assert getattr(fp13, field) != value  # each field really differs from fp/1.3


def test_code_hash_is_stable() -> None:
    assert lodo.code_hash() == lodo.code_hash()
    assert len(lodo.code_hash()) == 16


def test_code_hash_ignores_comments_and_the_whole_shipped_statement() -> None:
    body = "def f() -> int:\n    return 1\n"
    shipped = 'SHIPPED = ExtractorConfig(name="fp/9", local_period=True,\n                          seg_hull=41)\n'
    other = 'SHIPPED = ExtractorConfig(name="fp/8")\n'
    assert lodo.hashed_text(body + shipped + "# a comment\n" + body) == body + body
    assert lodo.hashed_text(body + other + body) == body + body
    assert lodo.hashed_text(body + "X = (1,\n     2)\n") == body + "X = (1,\n     2)\n"  # other statements count


def test_code_hash_covers_the_compiled_kernels() -> None:
    names = {p.name for p in lodo.hashed_sources()}
    assert {"extract.py", "_filter.py", "_skeleton.py", "_mcc.py", "match.py", "template.py"} <= names


def test_cached_runs_are_not_evaluated_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake(config: object, dataset: Path) -> lodo.SetRun:
        calls.append(dataset.name)
        return _run(0.1)

    monkeypatch.setattr(lodo, "evaluate", fake)
    sets = [tmp_path / "A", tmp_path / "B"]
    cache = tmp_path / "cache.json"
    first = lodo.run_grid([SHIPPED], sets, cache)
    second = lodo.run_grid([SHIPPED], sets, cache)
    assert calls == ["A", "B"]
    assert first == second
    doc = lodo.report(second, ["A", "B"], SHIPPED.name)
    assert [r["dataset"] for r in doc["leave_one_out"]] == ["A", "B"]
    assert doc["chosen_on_all_sets"]["configuration"] == SHIPPED.name
    assert doc["shipped"] is None


@pytest.mark.parametrize(("name", "changed"), [
    ("dry-presmooth0.1", {"orient_presmooth": 0.1}),
    ("dry-presmooth0.13", {"orient_presmooth": 0.13}),
    ("dry-presmooth0.16", {"orient_presmooth": 0.16}),
    ("dry-presmooth0.1-adaptive0.5", {"orient_presmooth": 0.1, "adaptive_orient": 0.5}),
    ("dry-presmooth0.13-adaptive0.5", {"orient_presmooth": 0.13, "adaptive_orient": 0.5}),
    ("dry-presmooth0.16-adaptive0.5", {"orient_presmooth": 0.16, "adaptive_orient": 0.5}),
    ("dry-presmooth0.13-adaptive0.3", {"orient_presmooth": 0.13, "adaptive_orient": 0.3}),
])
def test_dry_entries_change_only_their_fields_on_fp14(name: str, changed: dict[str, object]) -> None:
    entry = lodo.GRID[name]
    fp14 = lodo.RELEASES["fp/1.4"]  # the entries were added on top of fp/1.4, whatever ships now
    assert dataclasses.replace(fp14, name=name, **changed) == entry  # type: ignore[arg-type]
    for field, value in changed.items():
        assert getattr(fp14, field) != value
