"""References cached on disk: a repeat run computes no reference it has computed before.

One entry is one :class:`~harness.truth.reference.Reference`, a NumPy ``.npz`` file of arrays and
one JSON text (read with ``allow_pickle=False``: never a pickle) at
``<cache>/references/<case>/<hash of its key>.npz``; ``<cache>`` is ``$DIFFBENCH_CACHE_DIR`` where
set, else the user's cache folder (``platformdirs.user_cache_dir("diffbench")``).

The key is all the reference depends on: the case's name and size, a hash of the exact points
(their float64 bytes), the quantity, the order, the direction the quantity takes (a jvp's or an
hvp's tangent, a vjp's cotangent, a mixed partial's pair), the case itself — the contents of every
source file that defines its functions, their code, and the data they close over (so an edited
case, a plugin file's included, or another ``--input`` file misses) — and the code that computes
references: the sources of ``harness/truth/`` and of the model modules a case is evaluated with,
and the versions of mpmath, SymPy, NumPy and numpy-quaddtype, and the settings of the modules that
compute them (a budget a test changes).  A case with no key is never cached: one whose code has no
source file (typed into an interpreter), or whose functions hold an object other than arrays,
numbers, texts, functions and containers of them (its data could change unseen).

An entry repeats its key, and is taken only when that key, its points and every array's type
and shape are what they must be: a corrupt, truncated or foreign file is a miss, computed again
and written over.  Entries are written whole or not at all (:mod:`harness.store.atomic`: a
temporary file of the writing process renamed onto its place), so runs writing the same entry at
once each leave a whole one.  A cache that cannot be written (read-only, a full disk) keeps nothing
and stops nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import json
import os
import re
import types
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import UsageError
from harness.model import case as case_module
from harness.model import namespaces, partials, quantities
from harness.model.case import Case
from harness.model.quantities import value_shape
from harness.model.registry import PLUGIN_PREFIX
from harness.store import atomic
from harness.truth import directional

ENV = "DIFFBENCH_CACHE_DIR"
FORMAT = 1  # of an entry's file; another format is a miss
LIBRARIES = ("mpmath", "sympy", "numpy", "numpy-quaddtype")
# the model modules whose code a reference runs (a case's mpmath evaluation, its partials, shapes)
MODEL_MODULES = (case_module, namespaces, partials, quantities)
HOME = ("cases", "harness", PLUGIN_PREFIX)  # modules whose functions are part of a case's definition
MAX_DEPTH = 12  # of the walk through a case's functions and data
# what a case's functions may refer to by name alone
NAMED = (type, types.ModuleType, types.BuiltinFunctionType, np.ufunc)
# the globals a case's function names that are part of its definition: data, and its helpers
DATA = (np.ndarray, np.generic, int, float, complex, str, bytes, tuple, list, dict, functools.partial,
        types.FunctionType)


def folder() -> Path:
    """The cache folder: ``$DIFFBENCH_CACHE_DIR``, else the user's cache folder for diffbench."""
    given = os.environ.get(ENV)
    if given:
        return Path(given).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("diffbench"))


@dataclass(frozen=True)
class Entry:
    """Where one reference is cached, and the key its file must repeat."""

    path: Path
    key: dict
    n_points: int
    dim: int
    shape: tuple  # the value shape of the quantity at these points (an unprojected reference's)


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def _file_digest(path) -> str:
    return _digest(Path(path).read_bytes())


def points_digest(x: np.ndarray) -> str:
    x = np.ascontiguousarray(x, dtype=np.float64)
    return _digest(repr(x.shape), x.tobytes())


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the code that computes references: ``harness/truth/``'s sources, the model modules
    it evaluates a case with, and the versions of the libraries it computes in."""
    from importlib import metadata

    files = sorted(Path(__file__).parent.glob("*.py")) + [Path(m.__file__) for m in MODEL_MODULES]
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=absent")
    return _digest(*(f"{p.name}:{_file_digest(p)}" for p in files), *versions)


def _numbers(value) -> np.ndarray | None:
    """A tuple or list of numbers (or of equal tuples of them) as one array; None for anything else."""
    if not value:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            numbers = np.asarray(value)
    except (ValueError, TypeError):
        return None
    return np.ascontiguousarray(numbers) if numbers.dtype.kind in "fiub" else None


def _buffer(array: np.ndarray):
    """An array's bytes: its buffer where it has one, not a copy (a bundle adjustment's data are
    hundreds of MB)."""
    array = np.ascontiguousarray(array)
    try:
        return memoryview(array).cast("B")
    except (TypeError, ValueError):  # empty, or a dtype with no buffer format (datetime64)
        return array.tobytes()


class _Walk:
    """A case's definition hashed: its fields, and through its functions their code, defaults,
    closures and the data globals they name, with the source file of every function of the
    project (or of the module the case's function comes from: a plugin, a test, a notebook)."""

    def __init__(self, root_module: str):
        self.hash = hashlib.sha256()
        self.files: set[str] = set()
        self.seen: dict[int, int] = {}
        self.kept: list = []
        self.home = HOME + ((root_module,) if root_module else ())
        self.complete = True  # False: a function of the case has no source file to version it by

    def tag(self, *parts) -> None:
        for part in parts:
            self.hash.update(part if isinstance(part, bytes) else str(part).encode())
            self.hash.update(b"\0")

    def once(self, value) -> bool:
        """Whether ``value`` (a container or function) is met for the first time (a cycle, or data
        shared by two functions, is walked once)."""
        if id(value) in self.seen:
            self.tag("again", self.seen[id(value)])
            return False
        self.seen[id(value)] = len(self.seen)
        self.kept.append(value)  # alive to the walk's end: no later object takes its id
        return True

    def value(self, value, depth: int = 0) -> None:
        if depth > MAX_DEPTH:  # what lies deeper is not seen: no key can say when it changed
            self.complete = False
        elif value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
            self.tag(type(value).__name__, repr(value))
        elif isinstance(value, np.generic):
            self.tag("scalar", value.dtype.str, repr(value.item()))
        elif isinstance(value, np.ndarray):
            self.tag("array", value.dtype.str, value.shape)
            if value.dtype.hasobject:
                self.value(value.tolist(), depth + 1)
            else:
                self.hash.update(_buffer(value))
        elif isinstance(value, (tuple, list)):
            numbers = _numbers(value)
            if numbers is not None:  # e.g. 640,000 coordinates: hashed at once
                self.tag(type(value).__name__, "numbers", numbers.dtype.str, numbers.shape)
                self.hash.update(_buffer(numbers))
            elif self.once(value):
                self.tag(type(value).__name__, len(value))
                for item in value:
                    self.value(item, depth + 1)
        elif isinstance(value, (set, frozenset)):
            self.tag("set", sorted(map(repr, value)))
        elif isinstance(value, dict):
            if self.once(value):
                self.tag("dict", len(value))
                for k, item in value.items():
                    self.value(k, depth + 1)
                    self.value(item, depth + 1)
        elif isinstance(value, functools.partial):
            self.tag("partial")
            self.value(value.func, depth + 1)
            self.value(value.args, depth + 1)
            self.value(value.keywords, depth + 1)
        elif isinstance(value, types.FunctionType):
            self.function(value, depth)
        elif isinstance(value, types.MethodType):
            self.tag("method")
            self.value(value.__func__, depth + 1)
            self.value(value.__self__, depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            if self.once(value):
                self.tag("dataclass", type(value).__qualname__)
                for f in dataclasses.fields(value):
                    self.tag(f.name)
                    self.value(getattr(value, f.name), depth + 1)
        elif isinstance(value, NAMED) or value is Ellipsis or value is NotImplemented:
            # a module, a class, a library's function: its name (a library's is versioned with it)
            self.tag("named", getattr(value, "__module__", None), getattr(value, "__qualname__", repr(value)))
        else:  # another object, whose data this walk cannot see: no key can say when they changed
            self.complete = False

    def function(self, fn: types.FunctionType, depth: int) -> None:
        module = fn.__module__ or ""
        if not module.startswith(self.home):  # a library's function: its name
            self.tag("library function", module, fn.__qualname__)
            return
        if not self.once(fn):
            return
        self.tag("function", fn.__qualname__)  # not its module's name: a plugin's differs per process
        try:
            source = inspect.getsourcefile(fn)
        except TypeError:
            source = None
        if source is None or not os.path.isfile(source):
            self.complete = False
        else:
            self.files.add(source)
        self.code(fn.__code__, depth)
        self.value(fn.__defaults__, depth + 1)
        self.value(fn.__kwdefaults__, depth + 1)
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            self.tag("closure", name)
            try:
                self.value(cell.cell_contents, depth + 1)
            except ValueError:  # a cell not yet filled
                self.tag("empty")
        for name in sorted(self.names(fn.__code__)):  # the data globals it reads, and its helpers
            found = fn.__globals__.get(name)
            if isinstance(found, DATA) and not isinstance(found, bool):
                self.tag("global", name)
                self.value(found, depth + 1)

    def code(self, code: types.CodeType, depth: int) -> None:
        self.tag("code", code.co_code, code.co_names, code.co_varnames)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self.code(const, depth)
            else:
                self.value(const, depth + 1)

    def names(self, code: types.CodeType) -> set[str]:
        found = set(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                found |= self.names(const)
        return found


_versions: dict[int, tuple] = {}  # id(case) → (a weak reference to it, its version)


def case_version(case: Case) -> str | None:
    """A hash of the case's definition: its fields and functions (their code and the data they
    close over) and the contents of their source files; None where a function of the case has no
    source file (then nothing says when it changed).  Worked out once per case object (a
    bundle-adjustment case's data take seconds to hash; an object's code does not change)."""
    kept = _versions.get(id(case))
    if kept is not None and kept[0]() is case:
        return kept[1]
    version = _case_version(case)
    key = id(case)
    with contextlib.suppress(TypeError):  # an object without weak references: worked out each time
        _versions[key] = (weakref.ref(case, lambda _, key=key: _versions.pop(key, None)), version)
    return version


def _case_version(case: Case) -> str | None:
    fn = case.fn
    while isinstance(fn, functools.partial):
        fn = fn.func
    walk = _Walk(getattr(fn, "__module__", "") or "")
    walk.value(case)
    if not walk.complete or not walk.files:
        return None
    files = sorted(_file_digest(path) for path in walk.files)  # contents only: a moved checkout still hits
    return _digest(walk.hash.hexdigest(), *files)


def direction(case: Case, quantity: str):
    """What the quantity is taken along: a jvp's or an hvp's tangent, a vjp's cotangent (as a hash
    of their float64 bytes), a mixed partial's pair of coordinates; None for the others."""
    if quantity in ("jvp", "hvp"):
        return points_digest(case.tangent())
    if quantity == "vjp":
        return points_digest(case.cotangent())
    if quantity == "mixed_partial":
        return [int(i) for i in case.mixed]
    return None


def settings(module) -> dict:
    """A module's settings as they are now (its upper-case numbers and texts: budgets, digits)."""
    return {k: v for k, v in sorted(vars(module).items())
            if k.isupper() and type(v) in (int, float, str, tuple) and k != "QUANTITIES"}


def entry(case: Case, order: int, x: np.ndarray, quantity: str, reference_settings: dict) -> Entry | None:
    """The cache entry of ``quantity`` (of ``order``) of ``case`` at the points ``x`` (float64),
    computed with ``reference_settings`` (the reference module's :func:`settings`: a budget changed
    at run time changes the reference); None where the case cannot be keyed (no source file) or
    the key cannot be made."""
    try:
        version = case_version(case)
        if version is None:
            return None
        key = {"format": FORMAT, "case": case.name, "size": case.size_label, "quantity": quantity,
               "order": int(order), "points": points_digest(x), "n_points": int(len(x)),
               "direction": direction(case, quantity), "case_version": version,
               "reference_version": code_version(),
               "settings": json.loads(json.dumps({"reference": reference_settings,
                                                  "directional": settings(directional)}))}
        shape = tuple(value_shape(case, quantity, len(x)))
    except Exception:  # a case this code cannot key: computed every time, as before the cache
        return None
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", case.name)[:80].lstrip(".") or "_"
    path = folder() / "references" / name / f"{_digest(_canonical(key))[:40]}.npz"
    return Entry(path, key, len(x), case.dim, shape)


def _canonical(key: dict) -> str:
    return json.dumps(key, sort_keys=True)


def load(found: Entry, x: np.ndarray) -> dict | None:
    """The reference's fields (all but ``x``) stored for ``found``, or None: no file, or one that is
    not exactly this entry's (corrupt, truncated, of another key or format, of other shapes)."""
    try:
        with np.load(found.path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        return _checked(found, x, arrays)
    except Exception:  # missing, unreadable or not what it must be: a miss
        return None


def _checked(found: Entry, x: np.ndarray, arrays: dict) -> dict:
    meta_text = arrays["meta"]
    if meta_text.dtype.kind != "U" or meta_text.ndim != 0:
        raise ValueError("no meta text")
    meta = json.loads(str(meta_text[()]))
    if not isinstance(meta, dict) or _canonical(meta.get("key")) != _canonical(found.key):
        raise ValueError("another key")
    n = found.n_points
    stored_x, hi, lo, f, defined = (arrays[k] for k in ("x", "hi", "lo", "f", "defined"))
    if stored_x.dtype != np.float64 or points_digest(stored_x) != points_digest(x):
        raise ValueError("other points")
    if any(a.dtype != np.float64 for a in (hi, lo, f)) or defined.dtype != np.bool_:
        raise ValueError("other types")
    if hi.shape != lo.shape or hi.ndim == 0 or hi.shape[0] != n or f.shape != (n,) or defined.shape != (n,):
        raise ValueError("other shapes")
    text, kind, projected = meta.get("text"), meta.get("kind"), meta.get("project")
    if not isinstance(text, list) or len(text) != n or not all(isinstance(t, str) for t in text):
        raise ValueError("no text per point")
    if not isinstance(kind, str) or not kind:
        raise ValueError("no kind")
    project = None
    if projected is None:
        if hi.shape != found.shape:
            raise ValueError("not the quantity's shape")
    else:
        weights = arrays["weights"]
        if projected not in directional.QUANTITIES or weights.dtype != np.float64 or weights.ndim != 2 \
                or weights.shape[1] != found.dim or hi.ndim != 2:
            raise ValueError("not a projection")
        project = directional.Projection(projected, weights)
    return {"hi": hi, "lo": lo, "f": f, "defined": defined, "text": text, "kind": kind, "project": project}


def save(found: Entry, ref) -> bool:
    """Keep ``ref`` (a :class:`~harness.truth.reference.Reference`) as ``found``'s file, whole or not
    at all; False where it was not kept (a projection that is not a stored kind, a cache that cannot
    be written)."""
    project = ref.project
    if project is not None and not isinstance(project, directional.Projection):
        return False
    meta = {"format": FORMAT, "key": found.key, "kind": ref.kind, "text": [str(t) for t in ref.text],
            "project": None if project is None else project.quantity}
    arrays = {"meta": np.array(json.dumps(meta)), "x": np.asarray(ref.x, dtype=np.float64),
              "hi": np.asarray(ref.hi, dtype=np.float64), "lo": np.asarray(ref.lo, dtype=np.float64),
              "f": np.asarray(ref.f, dtype=np.float64), "defined": np.asarray(ref.defined, dtype=bool)}
    if project is not None:
        arrays["weights"] = np.asarray(project.weights, dtype=np.float64)
    with contextlib.suppress(OSError, UsageError):  # unwritable: the run goes on without keeping it
        found.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.replacing(found.path, "cached reference") as temporary, open(temporary, "wb") as out:
            np.savez_compressed(out, **arrays)  # a file object: savez adds no ".npz" to the name
        return True
    return False
