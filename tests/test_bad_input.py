"""Bad input on the command line: exit status 2 and one line on stderr naming the problem.

Every command here fails before anything is measured; the results files they need (a real
one, a corrupt one, a truncated one, one of a future schema) are made once for the module.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(args, cwd, timeout=60):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Paths the cases refer to as {name}: a real results file and broken variants of it."""
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("bad_input")
    proc = _cli(["run", "--cases", "tanh", "--methods", "central", "--dtypes", "float64", "--orders", "1",
                 "--out", root / "real", "--quiet", "--in-process", "--no-step-sweep"], cwd=root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    real = root / proc.stdout.split()[0]
    assert real.is_file()

    corrupt = root / "x.parquet"
    corrupt.write_bytes(os.urandom(4096))
    truncated = root / "truncated.parquet"
    data = real.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    table = pq.read_table(real)
    metadata = dict(table.schema.metadata)
    meta = json.loads(metadata[b"diffbench"])
    meta["schema_version"] = 99
    metadata[b"diffbench"] = json.dumps(meta).encode()
    future = root / "future.parquet"
    pq.write_table(table.replace_schema_metadata(metadata), future)
    (root / "empty").mkdir()
    blocker = root / "blocker"
    blocker.write_text("a regular file, not a folder")
    return {"real": real, "corrupt": corrupt, "truncated": truncated, "future": future,
            "empty": root / "empty", "blocker": blocker, "missing": root / "missing.parquet"}


# (id, command line after `python -m harness`, substrings the one line must contain); {name} is a
# path from the fixture; a narrow selection keeps a command that wrongly starts measuring short
TINY = ["--methods", "central", "--dtypes", "float64", "--orders", "1", "--quiet", "--no-step-sweep"]
CASES = [
    ("unknown-case", ["run", "--cases", "tanhh"], ["unknown case 'tanhh'", "did you mean tanh?"]),
    ("unknown-method", ["run", "--methods", "jaxx"], ["unknown method 'jaxx'", "did you mean jax"]),
    ("glob-matches-nothing", ["run", "--cases", "zz*"], ["unknown case 'zz*'"]),
    ("shard-0", ["run", "--cases", "tanh", "--shard", "0/3"], ["--shard 0/3", "between 1 and 3"]),
    ("shard-past-n", ["run", "--cases", "tanh", "--shard", "4/3"], ["--shard 4/3", "between 1 and 3"]),
    ("shard-not-numbers", ["run", "--cases", "tanh", "--shard", "a/b"], ["--shard must be i/N", "'a/b'"]),
    ("shard-zero-parts", ["run", "--cases", "tanh", "--shard", "1/0"], ["--shard 1/0", "at least 1"]),
    ("unknown-dtype", ["run", "--dtypes", "float16"], ["unknown dtype 'float16'", "float64, float32"]),
    ("unknown-device", ["run", "--devices", "tpu"], ["unknown device 'tpu'", "cpu, gpu"]),
    ("unknown-quantity", ["run", "--quantities", "curl"], ["unknown quantity 'curl'", "gradient"]),
    ("bad-orders", ["run", "--orders", "x"], ["orders must be whole numbers", "'x'"]),
    ("unknown-sizes", ["run", "--sizes", "huge"], ["unknown sizes profile 'huge'", "quick, default, full"]),
    ("negative-timeout", ["run", "--timeout", "-1"], ["--timeout must be", "got -1"]),
    ("infinite-timeout", ["run", "--cases", "tanh", *TINY, "--timeout", "inf"],
     ["--timeout must be", "got inf"]),
    ("zero-rounds", ["run", "--cases", "tanh", *TINY, "--rounds", "0"], ["--rounds must be", "got 0"]),
    ("retired-passes", ["run", "--cases", "tanh", *TINY, "--passes", "2"],
     ["unrecognized arguments: --passes"]),
    ("zero-memory-limit", ["run", "--memory-limit", "0"], ["--memory-limit must be", "got 0"]),
    ("nan-memory-limit", ["run", "--cases", "tanh", *TINY, "--memory-limit", "nan"],
     ["--memory-limit must be", "got nan"]),
    ("unwritable-out", ["run", "--cases", "tanh", *TINY, "--in-process", "--out", "{blocker}/sub"],
     ["cannot create output folder", "blocker"]),
    ("report-empty-folder", ["report", "{empty}"], ["no results files in", "empty"]),
    ("report-missing-file", ["report", "{missing}"], ["no such results file or folder", "missing.parquet"]),
    ("report-corrupt", ["report", "{corrupt}"], ["x.parquet", "not a readable results file"]),
    ("report-truncated", ["report", "{truncated}"], ["truncated.parquet", "not a readable results file"]),
    ("report-schema-99", ["report", "{future}"], ["future.parquet", "schema version 99"]),
    ("report-unwritable", ["report", "{real}", "-o", "{blocker}/r.html"],
     ["cannot write the report", "blocker is not a folder"]),
    ("resume-missing", ["run", "--resume", "{missing}"],
     ["no such results file or folder", "missing.parquet"]),
    ("resume-complete", ["run", "--resume", "{real}"], ["this run is complete", "nothing to resume"]),
    ("resume-corrupt", ["run", "--resume", "{corrupt}"], ["x.parquet", "not a readable results file"]),
    ("preset-with-cases", ["run", "--preset", "seed-001", "--cases", "tanh"],
     ["preset seed-001 fixes the selection", "drop cases"]),
    ("unknown-preset", ["run", "--preset", "seed-999"], ["--preset", "invalid choice: 'seed-999'"]),
    ("compare-bad-threshold", ["compare", "{real}", "{real}", "--threshold", "lots"],
     ["threshold must be a fraction or a percentage", "'lots'"]),
    ("compare-truncated", ["compare", "{real}", "{truncated}"], ["truncated.parquet", "not a readable"]),
    ("missing-plugin", ["run", "--plugin", "no_such_plugin.py"],
     ["plugin file not found", "no_such_plugin.py"]),
    ("merge-no-parts", ["merge", "-o", "merged.parquet"], ["the following arguments are required: parts"]),
    ("merge-missing-part", ["merge", "{real}", "{missing}", "-o", "merged.parquet"],
     ["no such results file or folder", "missing.parquet"]),
    ("merge-corrupt-part", ["merge", "{real}", "{corrupt}", "-o", "merged.parquet"],
     ["x.parquet", "not a readable results file"]),
    ("step-sweep-vector-case", ["run", "--cases", "rosenbrock,tanh", "--methods", "central", "--dtypes",
                                "float64", "--quiet", "--step-sweep", "rosenbrock"],
     ["step sweep takes scalar cases", "rosenbrock is not one"]),
    ("step-sweep-unknown-case", ["run", "--cases", "tanh", "--methods", "central", "--step-sweep", "tanhh"],
     ["unknown case 'tanhh'", "did you mean tanh?"]),
    ("missing-subcommand", [], ["the following arguments are required: command"]),
    ("unknown-subcommand", ["frobnicate"], ["invalid choice: 'frobnicate'"]),
]


def test_the_cases_are_distinct():
    assert len(CASES) >= 20
    assert len({id_ for id_, _, _ in CASES}) == len(CASES)
    assert len({tuple(args) for _, args, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("args, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_status_2(args, expected, files, tmp_path):
    args = [a.format(**files) for a in args]
    proc = _cli(args, cwd=tmp_path)
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].strip(), (args, proc.stderr)  # no traceback, no usage block
    line = lines[0]
    assert line.startswith("diffbench: ") and "Traceback" not in line, line
    for part in expected:
        assert part in line, (part, line)
    assert proc.stdout == ""  # nothing was measured or written
    assert not any(tmp_path.iterdir()), sorted(tmp_path.iterdir())  # nothing left in the working folder
