"""References cached on disk (harness.truth.cache): a repeat run computes none, ``--no-cache`` computes
every one, a different key misses, a bad file is computed again, and each row says which.

Every test counts the calls to the computing function (``harness.truth.reference._reference``); none
times anything."""

import importlib.util
import os
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
from harness.errors import UsageError
from harness.model.case import Case
from harness.model.registry import CASES
from harness.runner import plan
from harness.store import results
from harness.truth import cache
from harness.truth import reference as reference_mod
from tests.conftest import run_cli

SMALL = dict(cases="tanh", methods="central,forward", dtypes="float64", orders="1", sizes="quick",
             timing={"rounds": 0})  # checked and graded, not timed: two cells, one reference


@pytest.fixture
def computed(tmp_path, monkeypatch):
    """An empty cache folder of the test's own, no reference held in this process, and the list of
    the (case, quantity, order) of every reference computed from here on."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(reference_mod, "_cache", {})
    calls = []
    compute = reference_mod._reference

    def counted(case, order, x, quantity):
        calls.append((case.name, quantity, order))
        return compute(case, order, x, quantity)

    monkeypatch.setattr(reference_mod, "_reference", counted)
    return calls


def new_process(monkeypatch):
    """As a new process finds it: no reference held in memory."""
    monkeypatch.setattr(reference_mod, "_cache", {})


def entries(folder) -> list[Path]:
    return sorted(Path(folder).rglob("*.npz"))


def test_the_test_session_never_writes_into_the_users_cache():
    import platformdirs

    folder = Path(os.environ[cache.ENV]).resolve()
    assert folder != Path(platformdirs.user_cache_dir("diffbench")).resolve()
    assert folder.is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert cache.folder().resolve() == folder


def test_a_second_run_computes_no_reference(computed, monkeypatch, tmp_path):
    first = harness.run(**SMALL)
    assert computed == [("tanh", "derivative", 1)]  # one reference, shared by both cells
    assert first.reference_cached.tolist() == [False, False]
    assert len(entries(tmp_path / "cache")) == 1
    new_process(monkeypatch)
    second = harness.run(**SMALL)
    assert computed == [("tanh", "derivative", 1)]  # none computed again
    assert second.reference_cached.tolist() == [True, True]
    assert (second.status == "ok").all() and second.digits.tolist() == first.digits.tolist()
    a, b = first.attrs["points"], second.attrs["points"]
    for column in ("x", "ref", "ref_lo", "ref_text", "f", "defined", "abs_err", "rel_err"):
        assert a[column].tolist() == b[column].tolist(), column
    assert first.reference.tolist() == second.reference.tolist()


def test_no_cache_computes_every_reference_afresh_and_caches_it(computed, monkeypatch):
    harness.run(**SMALL)
    new_process(monkeypatch)
    cached = harness.run(**SMALL)
    assert cached.reference_cached.all() and len(computed) == 1
    # in the same process (a notebook): the reference read from the disk is not reused either
    fresh = harness.run(**SMALL, reference_cache=False)
    assert len(computed) == 2 and not fresh.reference_cached.any()
    assert fresh.attrs["meta"].selection["reference_cache"] is False
    assert cached.attrs["meta"].selection["reference_cache"] is True
    # what --no-cache computed took the entry's place: the next run reads it
    new_process(monkeypatch)
    assert harness.run(**SMALL).reference_cached.all() and len(computed) == 2


def test_a_changed_point_set_order_or_quantity_misses(computed, monkeypatch):
    case = CASES.case("tanh")
    x = case.points()
    reference_mod.reference(case, 1, x)
    new_process(monkeypatch)
    again = reference_mod.reference(case, 1, x)
    assert len(computed) == 1 and again.from_cache
    nudged = x.copy()
    nudged[5] = np.nextafter(nudged[5], np.inf)  # one point one ulp away
    for order, points in ((1, nudged), (1, x[:-1]), (2, x)):
        new_process(monkeypatch)
        assert not reference_mod.reference(case, order, points).from_cache
    assert computed == [("tanh", "derivative", 1)] * 3 + [("tanh", "derivative", 2)]
    from cases.vector import rosenbrock as make_rosenbrock

    rosenbrock = make_rosenbrock(2)
    y = rosenbrock.points()[:3]
    for quantity in ("gradient", "jvp", "vjp", "gradient"):
        new_process(monkeypatch)
        reference_mod.reference(rosenbrock, 1, y, quantity)
    assert computed[4:] == [("rosenbrock", "gradient", 1), ("rosenbrock", "jvp", 1), ("rosenbrock", "vjp", 1)]


def test_a_changed_case_misses(computed, monkeypatch):
    x = np.linspace(-1.0, 1.0, 7)
    square = Case("mine", lambda xp, x: x**2, "x²")
    cube = Case("mine", lambda xp, x: x**3, "x²")  # the same name and formula text, another function
    reference_mod.reference(square, 1, x)
    new_process(monkeypatch)
    got = reference_mod.reference(cube, 1, x)
    assert not got.from_cache
    np.testing.assert_allclose(got.hi, 3 * x**2, rtol=1e-15, atol=1e-100)  # x³'s derivative, not x²'s
    new_process(monkeypatch)
    assert reference_mod.reference(square, 1, x).from_cache and len(computed) == 2


def _load(path: Path):
    """The module of a plugin-like file, loaded afresh (as a new process would)."""
    spec = importlib.util.spec_from_file_location(f"diffbench_plugin_mine_{len(path.read_text())}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_edited_plugin_file_misses(computed, monkeypatch, tmp_path):
    plugin = tmp_path / "mine.py"
    plugin.write_text("from harness.model.case import Case\n"
                      "CASE = Case('plugged', lambda xp, x: xp.tanh(x), 'tanh x', grid=5)\n")
    case = _load(plugin).CASE
    reference_mod.reference(case, 1, case.points())
    new_process(monkeypatch)
    case = _load(plugin).CASE  # the same file loaded again: the same entry
    assert reference_mod.reference(case, 1, case.points()).from_cache and len(computed) == 1
    plugin.write_text(plugin.read_text() + "# edited\n")
    new_process(monkeypatch)
    case = _load(plugin).CASE
    assert not reference_mod.reference(case, 1, case.points()).from_cache and len(computed) == 2


class Scale:  # an object whose data the key cannot see
    def __init__(self, k):
        self.k = k


def test_a_case_with_no_key_is_never_cached(computed, monkeypatch, tmp_path):
    typed = Case("typed", eval("lambda xp, x: xp.sin(x)"), "sin x", grid=5)  # as in an interpreter
    scale = Scale(2.0)
    held = Case("held", lambda xp, x: scale.k * x**2, "k x²", grid=5)  # scale.k could change unseen
    for case in (typed, held):
        assert cache.entry(case, 1, case.points(), "derivative", {}) is None
        for _ in range(2):
            new_process(monkeypatch)
            assert not reference_mod.reference(case, 1, case.points()).from_cache
    assert len(computed) == 4 and entries(tmp_path / "cache") == []
    assert cache.entry(Case("plain", lambda xp, x: 2.0 * x**2, "2x²"), 1, held.points(), "derivative", {})


def _flip_a_byte_of_hi(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("hi.npy")
    raw = bytearray(path.read_bytes())
    h = info.header_offset  # the local header: 30 bytes, then the name and the extra field
    name, extra = (int.from_bytes(raw[i:i + 2], "little") for i in (h + 26, h + 28))
    start = h + 30 + name + extra
    raw[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def _another_points_entry(path: Path) -> None:
    case = CASES.case("tanh")
    other = reference_mod.reference(case, 1, case.points()[:10], reuse=False)
    found = cache.entry(case, 1, other.x, "derivative", cache.settings(reference_mod))
    path.write_bytes(found.path.read_bytes())  # a whole entry, of another key


def _shape_changed(path: Path) -> None:
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["hi"] = arrays["hi"][:-1]  # the right key, a wrong shape
    with open(path, "wb") as out:
        np.savez(out, **arrays)


def _pickled(path: Path) -> None:
    with open(path, "wb") as out:
        np.savez(out, meta=np.array([{"key": "x"}], dtype=object))  # read only with allow_pickle


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "not a zip": lambda p: p.write_bytes(b"PK\x03\x04 not an entry at all" * 10),
    "a flipped byte": _flip_a_byte_of_hi,
    "another key's entry": _another_points_entry,
    "a wrong shape": _shape_changed,
    "a pickle": _pickled,
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS))
def test_a_corrupt_cache_file_is_computed_again_and_written_over(corrupt, computed, monkeypatch):
    case = CASES.case("tanh")
    x = case.points()
    good = reference_mod.reference(case, 1, x)
    path = cache.entry(case, 1, x, "derivative", cache.settings(reference_mod)).path
    assert path.is_file()
    CORRUPTIONS[corrupt](path)
    n = len(computed)
    new_process(monkeypatch)
    again = reference_mod.reference(case, 1, x)
    assert len(computed) == n + 1 and not again.from_cache  # a miss, not a crash nor a wrong figure
    assert again.hi.tolist() == good.hi.tolist() and again.text == good.text
    new_process(monkeypatch)
    read = reference_mod.reference(case, 1, x)  # the entry was written over: whole again
    assert read.from_cache and len(computed) == n + 1 and read.lo.tolist() == good.lo.tolist()


def test_a_cached_reference_is_the_computed_one_projection_included(computed, monkeypatch):
    kmeans = CASES.get("kmeans").cases("quick")[0]
    x = kmeans.points()[:2]
    made = reference_mod.reference(kmeans, 2, x, "hvp")  # quad precision, graded on projections
    assert made.project is not None
    new_process(monkeypatch)
    read = reference_mod.reference(kmeans, 2, x, "hvp")
    assert read.from_cache and len(computed) == 1
    for name in ("x", "hi", "lo", "f", "defined"):
        np.testing.assert_array_equal(getattr(read, name), getattr(made, name))
    assert (read.text, read.kind, read.project.quantity) == (made.text, made.kind, made.project.quantity)
    np.testing.assert_array_equal(read.project.weights, made.project.weights)
    values = np.random.default_rng(1).standard_normal((len(x), kmeans.dim))
    for a, b in zip(read.project(values), made.project(values)):
        np.testing.assert_array_equal(a, b)


def test_writers_of_the_same_entry_at_once_leave_a_whole_one(computed, tmp_path):
    case = CASES.case("tanh")
    x = case.points()
    ref = reference_mod.reference(case, 1, x)
    found = cache.entry(case, 1, x, "derivative", cache.settings(reference_mod))
    seen, failed = [], []

    def write():
        for _ in range(15):
            if not cache.save(found, ref):
                failed.append(True)

    writers = [threading.Thread(target=write) for _ in range(3)]
    for w in writers:
        w.start()
    while any(w.is_alive() for w in writers):
        seen.append(cache.load(found, x))
    for w in writers:
        w.join()
    seen.append(cache.load(found, x))
    assert not failed and seen[-1] is not None
    for fields in seen:  # every read found the whole entry
        assert fields is not None and fields["hi"].tolist() == ref.hi.tolist()
    assert [p.name for p in found.path.parent.iterdir()] == [found.path.name]  # no temporary file left


def test_an_unwritable_cache_only_keeps_nothing(computed, monkeypatch, tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setenv(cache.ENV, str(blocked / "cache"))  # cannot be made: a file is in the way
    df = harness.run(**SMALL)
    assert (df.status == "ok").all() and not df.reference_cached.any() and len(computed) == 1


def test_the_setting_is_recorded_in_the_selection():
    chosen = plan.Selection.of(cases="tanh", reference_cache=False)
    assert chosen.given() == ["cases", "reference_cache"] and chosen.to_dict()["reference_cache"] is False
    assert plan.Selection.from_dict(chosen.to_dict()) == chosen
    assert plan.Selection.from_dict({"cases": "tanh"}).reference_cache is True  # an older run's record
    with pytest.raises(UsageError, match="reference_cache"):
        plan.Selection.of(reference_cache="no")
    with pytest.raises(UsageError, match="reference_cache"):
        plan.Selection.from_dict({"reference_cache": "no"})


def test_an_older_results_file_reads_the_column_as_missing(tmp_path, monkeypatch):
    from harness.store.meta import RunMeta
    from harness.store.schema import CellRow

    row = CellRow(run_id="r", case="tanh", size="", method="central", family="numerical", mode="none",
                  batched="", quantity="derivative", order=1, dtype="float64", device="cpu", status="ok",
                  message="", dim=1, n_points=3, reference_cached=True)
    older = {k: v for k, v in results.CELL_KINDS.items() if k != "reference_cached"}
    monkeypatch.setattr(results, "CELL_KINDS", older)  # as schema 5 wrote it: no such column
    monkeypatch.setattr(results, "SCHEMA_VERSION", 5)
    path = results.write(results.cells_frame([row]), results.points_frame([]), RunMeta(run_id="old"),
                         tmp_path)
    monkeypatch.undo()
    assert "reference_cached" not in pd.read_parquet(path).columns
    cells, _, metas = results.read([path])
    assert metas[0].schema_version == 5 and cells.reference_cached.isna().all()
    new = results.write(results.cells_frame([row]), results.points_frame([]), RunMeta(run_id="new"), tmp_path)
    assert results.read([new])[0].reference_cached.tolist() == [True]


def test_the_command_says_which_references_came_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))  # the commands' own, empty
    args = ["run", "--cases", "tanh", "--methods", "central,forward", "--dtypes", "float64", "--orders", "1",
            "--sizes", "quick", "--no-step-sweep", "--quiet"]  # each cell in a worker: the parent's reference
    found = []
    for i, extra in enumerate(([], [], ["--no-cache"])):
        proc = run_cli(*args, *extra, "--out", tmp_path / f"run{i}")
        assert proc.returncode == 0, proc.stderr
        cells, _, metas = results.read([proc.stdout.strip().splitlines()[-1]])
        found.append((cells.reference_cached.tolist(), metas[0].selection["reference_cache"]))
        # the time the workers' shared references took, recorded and said
        assert metas[0].reference_s is not None and metas[0].reference_s >= 0
        cached = sum(found[-1][0])
        assert f"s ({cached} of 2 cells' from the cache)" in proc.stderr
    assert found == [([False, False], True), ([True, True], True), ([False, False], False)]
    assert len(entries(tmp_path / "cache")) == 1
