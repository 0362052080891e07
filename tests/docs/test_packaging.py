"""What an image build relies on: pinned runtime dependencies, a run example that pastes, a health check that
follows the configured port, and test-only libraries kept out of the runtime dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_runtime_dependency_is_pinned_in_the_constraints() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {_canonical(Requirement(r).name) for r in project["dependencies"]}
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), line
            pins[_canonical(name)] = version
    assert runtime <= set(pins), f"run `make constraints`: unpinned {sorted(runtime - set(pins))}"
    assert "pyfingerprint" not in runtime  # only a test imports it: the dev extra
    assert any(_canonical(Requirement(r).name) == "pyfingerprint" for r in project["optional-dependencies"]["dev"])
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "-c constraints.txt" in dockerfile and "constraints.txt" in dockerfile.split("COPY", 2)[1]


def test_the_dockerfile_run_example_pastes_and_the_health_check_follows_the_port() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#   docker run"))
    command = []
    for line in lines[start:]:
        text = line.removeprefix("# ").rstrip()
        command.append(text)
        if not text.endswith("\\"):
            break
    for text in command[:-1]:
        assert "#" not in text, f"a comment after a line continuation breaks the pasted command: {text!r}"
    joined = " ".join(t.rstrip("\\").strip() for t in command)
    assert joined.startswith("docker run") and joined.endswith(" idverify")
    health = next(line for line in lines if "/healthz" in line and "CMD" in line)
    assert "IDVERIFY_PORT" in health and ":8700/" not in health
