"""The command line, as a user types it."""

import pytest

from tests.conftest import EXAMPLE_PLUGIN, run_cli


def test_list_cases_and_methods():
    cases = run_cli("list", "cases")
    assert cases.returncode == 0
    for name in ("square", "sin_square", "tanh", "softplus", "exp_sin", "cubic", "abs"):
        assert any(line.startswith(name + " ") for line in cases.stdout.splitlines())
    assert "kinks at 0.0" in cases.stdout
    methods = run_cli("list", "methods")
    for name, family in [("sympy", "symbolic"), ("forward", "numerical"), ("backward", "numerical"),
                         ("central", "numerical"), ("jax", "automatic"), ("torch", "automatic")]:
        assert any(line.split()[:2] == [name, family] for line in methods.stdout.splitlines())


def test_list_methods_imports_no_backend():
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import sys; from harness.cli import main; main(['list', 'methods']); "
            "print('imported:', sorted(m for m in ('tensorflow', 'jax', 'torch', 'sympy', 'autograd') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "imported: []"  # whether a backend is there comes from the installed packages
    tangent = next(line for line in lines if line.startswith("tangent "))
    import importlib.util

    assert "opt-in" in tangent
    if importlib.util.find_spec("tangent") is None:  # its reason stays in the list
        assert "not installed: no module named 'tangent' (tangent 0.1.9, its last release" in tangent
    assert not proc.stderr  # nothing a library prints while imported


def test_plugin_adds_a_case_and_a_method(tmp_path):
    listed = run_cli("list", "cases", "--plugin", EXAMPLE_PLUGIN)
    assert "sigmoid" in listed.stdout
    proc = run_cli("run", "--plugin", EXAMPLE_PLUGIN, "--cases", "sigmoid", "--methods", "five-point,cent*l",
                   "--dtypes", "float64", "--out", tmp_path / "res", "--report", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results_path, report_path = proc.stdout.split()
    assert results_path.endswith(".parquet") and report_path.endswith(".html")
    assert "2 cells in " in proc.stderr and ": 2 ok" in proc.stderr
    import pandas as pd

    df = pd.read_parquet(results_path).set_index("method")
    assert df.loc["five-point", "digits"] > df.loc["central", "digits"] > 9  # 4th order beats 2nd
    assert (tmp_path / report_path).exists()


@pytest.mark.parametrize("args, message", [
    (["run", "--cases", "tanhh"], "unknown case 'tanhh'; did you mean tanh"),
    (["run", "--methods", "centrl"], "did you mean central"),
    (["run", "--cases", "nothing*"], "unknown case 'nothing*'"),
    (["run", "--dtypes", "float16"], "unknown dtype 'float16'"),
    (["run", "--devices", "tpu"], "unknown device 'tpu'"),
    (["run", "--orders", "one"], "orders must be whole numbers"),
    (["run", "--plugin", "no/such/file.py"], "plugin file not found"),
    (["run", "--timeout", "soon"], "invalid float value"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["list", "things"], "invalid choice: 'things'"),
    (["report", "no/such/dir"], "no such results file or folder"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required"),
])
def test_bad_input_is_one_line_and_status_2(args, message, tmp_path):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("diffbench: "), proc.stderr
    assert message in lines[0]


def test_empty_results_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli("report", tmp_path / "empty")
    assert proc.returncode == 2 and "no results files in" in proc.stderr


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run_cli("run", "--cases", "square", "--methods", "central", "--dtypes", "float64",
                   "--orders", "1", "--out", blocker / "sub", "--quiet")
    assert proc.returncode == 2 and "cannot create output folder" in proc.stderr


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_an_interrupted_run_keeps_its_finished_cells(sig, tmp_path):
    """Stop a run after its first cells: they are written, and the exit status says so."""
    import signal
    import subprocess
    import sys

    import pandas as pd

    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--cases", "tanh", "--methods", "central,forward",
         "--out", tmp_path, "--log"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in proc.stderr:  # wait for the first finished cell
        if line.startswith("[ 1/"):
            break
    proc.send_signal(getattr(signal, sig))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted: keeping" in err
    cells = pd.read_parquet(out.strip())
    assert 1 <= len(cells) < 12 and (cells.status == "ok").all()


# what `diffbench run` itself prints on stderr (harness.runner.progress.summary and the verdict)
OWN_LINE = r"\d+ cells in |slowest cells:|worker starts|references: |results: |report: |verdict:|\s+\S"


def test_a_run_under_ci_prints_only_its_own_lines_on_stderr(tmp_path):
    """TensorFlow, JAX and PyTorch log as they load: none of it may reach diffbench's stderr."""
    import importlib.util
    import os
    import re
    import subprocess
    import sys

    from tests.conftest import ROOT

    methods = [m for m in ("tensorflow", "jax", "torch") if importlib.util.find_spec(m)] + ["central"]
    command = [sys.executable, "-m", "harness", "run", "--cases", "tanh", "--methods", ",".join(methods),
               "--dtypes", "float64", "--orders", "1", "--sizes", "quick", "--no-step-sweep",
               "--out", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "CI": "true"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert re.match(r"\d+ cells in ", lines[0]) and "verdict:" in lines
    foreign = [line for line in lines if not re.match(OWN_LINE, line)]
    assert not foreign, foreign
    # the check catches a library's log line (TensorFlow's form) and a bare warning
    tf_log = "2026-12-04 18:39:09.998515: I tensorflow/core/util/port.cc:153] oneDNN custom operations on."
    assert not re.match(OWN_LINE, tf_log) and not re.match(OWN_LINE, "UserWarning: something")
