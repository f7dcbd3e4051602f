"""Run metadata: when, where, on what hardware and with which library versions.

Versions come from the installed distributions' metadata, so gathering them
imports neither JAX nor PyTorch; GPUs are listed by ``nvidia-smi`` when present.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

LIBRARIES = (
    "diffbench", "numpy", "sympy", "mpmath", "scipy", "jax", "jaxlib", "torch",
    "pandas", "pyarrow", "matplotlib", "array-api-compat", "autograd", "mygrad", "num-dual",
    "numdifftools", "tensorflow-cpu", "tensorflow", "tangent",
)


def _run(cmd: list[str], cwd=None) -> str:
    # GIT_OPTIONAL_LOCKS=0: `git status` reads the index without refreshing it, so a run never takes
    # .git/index.lock in the user's checkout (a commit made meanwhile would fail on it)
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, cwd=cwd, env=env)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def versions() -> dict:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[dict]:
    """CUDA GPUs as nvidia-smi reports them (name, driver, memory); [] without one."""
    if not shutil.which("nvidia-smi"):
        return []
    query = "--query-gpu=index,name,driver_version,memory.total"
    rows = _run(["nvidia-smi", query, "--format=csv,noheader"])
    keys = ("index", "name", "driver", "memory")
    found = [dict(zip(keys, (v.strip() for v in row.split(",")))) for row in rows.splitlines() if row]
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", _run(["nvidia-smi"]))  # the driver's CUDA
    for gpu in found:
        gpu["cuda_driver"] = cuda.group(1) if cuda else None
    return found


def backend_devices() -> dict:
    """What the differentiation backends loaded during a run saw: their CUDA build and
    devices (read from modules already imported — gathering metadata imports none)."""
    seen = {}
    torch = sys.modules.get("torch")
    if torch is not None:
        cuda = torch.cuda.is_available()
        seen["torch"] = {"cuda_build": torch.version.cuda, "cuda_available": cuda,
                         "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                         if cuda else []}
    jax = sys.modules.get("jax")
    if jax is not None:
        try:
            seen["jax"] = {"backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()]}
        except Exception as exc:  # a broken plugin: say so rather than fail the run
            seen["jax"] = {"error": str(exc)}
    return seen


def load_average() -> list[float] | None:
    """The machine's 1-, 5- and 15-minute load averages (None where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def cpu_frequency_mhz() -> list[float] | None:
    """Each CPU's current clock, where Linux lets it be read (a VM often does not)."""
    found = []
    for path in sorted(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq")):
        try:
            found.append(int(path.read_text()) / 1000)
        except (OSError, ValueError):
            pass
    return found or None


def git_commit() -> str | None:
    """The commit of the diffbench checkout: the package's own, else the working
    folder's when it is a diffbench checkout (an installed copy, run from the repo)."""
    places = [Path(__file__).resolve().parent]
    if (Path.cwd() / "harness" / "__init__.py").is_file():
        places.append(Path.cwd())
    for here in places:
        commit = commit_of(here)
        if commit:
            return commit
    return None


def commit_of(folder) -> str | None:
    """The commit checked out in ``folder`` (``-dirty`` when a tracked file differs), read without
    writing anything there."""
    commit = _run(["git", "rev-parse", "HEAD"], cwd=folder)
    if not commit:
        return None
    if _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder):
        commit += "-dirty"
    return commit


def run_metadata() -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    return {
        "timestamp": now.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "host": platform.node(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_mhz": cpu_frequency_mhz(),
        "gpus": gpus(),
        "versions": versions(),
    }
