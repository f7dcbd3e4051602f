"""pytest-benchmark hooks for the saved baseline (benchmarks/baseline.json, `nox -s perf`)."""


def pytest_benchmark_update_machine_info(config, machine_info):
    """A saved run is committed to the repository: it names the CPU and Python, not the host."""
    machine_info.pop("node", None)
