"""The registries of cases and methods, name selection, and plugin loading.

The built-in entries (the ``cases`` package and ``harness.methods``) are imported on first
use, so ``import harness`` stays cheap.  A plugin file registers its own with the same
``register_*`` functions.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from harness.errors import UsageError
from harness.model.case import Case, CaseSweep
from harness.model.method import Method

__all__ = ["CASES", "METHODS", "Registry", "UsageError", "load_plugin", "register_case",
           "register_method", "register_sweep"]


class Registry:
    def __init__(self, kind: str, builtin_module: str):
        self.kind = kind
        self._builtin_module = builtin_module
        self._entries: dict = {}
        self._loaded = False

    def _load_builtins(self):
        if not self._loaded:
            self._loaded = True
            importlib.import_module(self._builtin_module)

    def add(self, name: str, entry) -> None:
        self._load_builtins()  # so a plugin's entry replaces a built-in, never the reverse
        self._entries[name] = entry

    def all(self) -> dict:
        self._load_builtins()
        return dict(self._entries)

    def get(self, name: str):
        return self.select([name])[0]

    def case(self, name: str, profile: str = "default"):
        """A case by name; for a sweep, its first size in ``profile``."""
        entry = self.get(name)
        return entry.cases(profile)[0] if isinstance(entry, CaseSweep) else entry

    def select(self, patterns) -> list:
        """Entries matching comma-separated names or glob patterns, in registry order."""
        entries = self.all()
        if patterns is None:
            return list(entries.values())
        if isinstance(patterns, str):
            patterns = patterns.split(",")
        chosen: dict = {}
        for pattern in (p.strip() for p in patterns):
            if not pattern:
                continue
            hits = fnmatch.filter(entries, pattern)
            if not hits:
                raise UsageError(self._no_match(pattern, entries))
            for name in hits:
                chosen[name] = entries[name]
        if not chosen:
            raise UsageError(f"no {self.kind} selected")
        order = list(entries)
        return [chosen[n] for n in sorted(chosen, key=order.index)]

    def _no_match(self, pattern: str, entries: dict) -> str:
        close = difflib.get_close_matches(pattern, list(entries), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} {pattern!r}{hint} (known: {', '.join(entries)})"


CASES = Registry("case", "cases")
METHODS = Registry("method", "harness.methods")


def register_case(case: Case) -> Case:
    """Add a case to the registry (a later registration of a name replaces it)."""
    CASES.add(case.name, case)
    return case


def register_sweep(name: str, factory: Callable[..., Case], quick: list, default: list,
                   full: list) -> CaseSweep:
    """Register a case family measured at the sizes of the chosen profile, e.g.
    ``register_sweep("nested_polynomial", nested_polynomial, quick=[{"depth": 1}], ...)``."""
    sweep = CaseSweep(name, factory, {"quick": quick, "default": default, "full": full})
    CASES.add(name, sweep)
    return sweep


def register_method(method: Method) -> Method:
    """Add a method to the registry (a later registration of a name replaces it)."""
    METHODS.add(method.name, method)
    return method


PLUGIN_PREFIX = "diffbench_plugin_"  # the module name a plugin file is loaded under


def load_plugin(path: str | Path) -> None:
    """Execute a user's Python file, whose ``register_*`` calls add entries."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"plugin file not found: {path}")
    CASES.all(), METHODS.all()  # built-ins first, so the plugin may override them
    name = f"{PLUGIN_PREFIX}{path.stem}_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"plugin {path} failed to load: {type(exc).__name__}: {exc}") from exc
