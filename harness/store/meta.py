"""A run's metadata, as one declared type: what every results file and journal records beside its
cells, built by the run (:mod:`harness.runner.loop`) or a merge (:mod:`harness.read.merge`) and read
back, checked field by field, by every reader.

A file's metadata is a JSON object of these fields (:meth:`RunMeta.to_dict`); a field it lacks (an
older file's) takes its default, and a key this diffbench does not know (a newer one's) is kept as
it was in :attr:`RunMeta.extra`.  A field of the wrong type is a one-line error naming it
(:meth:`RunMeta.from_dict`), so that no reader meets a value it cannot take apart.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field

from harness.errors import UsageError
from harness.store.text import shown

PART_OWN = ("cases", "methods")  # what a merged file's part does not repeat (the file lists them once)
MERGED_ONLY = ("merged", "parts", "missing_shards", "devices", "file")  # written where they say something


@dataclass
class RunMeta:
    """One run's (or one merged file's) metadata."""

    run_id: str
    timestamp: str | None = None  # when it started (a merge: when it was merged), ISO 8601 in UTC
    # the machine and its software (harness.host.environment.run_metadata)
    git_commit: str | None = None
    host: str | None = None
    os: str | None = None
    python: str | None = None
    cpu: str | None = None
    cpu_count: int | None = None
    cpu_mhz: list | None = None  # each CPU's clock, where it can be read
    gpus: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)  # library → version, or why it is not there
    # what it measured: its selection (harness.runner.plan.Selection.to_dict), and each case and method
    # by name (harness.runner.plan.describe_cases, describe_methods)
    selection: dict = field(default_factory=dict)
    cases: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)
    bandwidth_bytes_per_s: dict = field(default_factory=dict)  # device → measured copy bandwidth
    shard: str | None = None  # "i/N" for one shard of a plan
    # how it went
    complete: bool = False  # every planned cell (and the step sweep) measured
    n_cells: int = 0
    rounds: int = 0  # timing rounds per task at most (0: not timed; harness.runner.rounds)
    threads: dict = field(default_factory=dict)  # the setting, and what each process's libraries said
    backends: dict = field(default_factory=dict)  # what each backend saw of the devices
    worker_starts_s: dict = field(default_factory=dict)  # backend → seconds each worker took to start
    # seconds the run spent on the references its workers share (computed, or read from the disk
    # cache: harness.truth.cache), part of the first cell's cell_s of each task
    reference_s: float | None = None
    load_start: list | None = None  # the load averages at the start and at the end
    load_end: list | None = None
    # a merged file (harness.read.merge): its parts' metadata, each without PART_OWN, with its file
    # and devices; the fields above are theirs combined
    merged: bool = False
    parts: list = field(default_factory=list)
    missing_shards: list = field(default_factory=list)
    devices: list = field(default_factory=list)
    file: str | None = None  # a part's results file
    schema_version: int | None = None  # the results format it was written in (harness.store.schema)
    extra: dict = field(default_factory=dict)  # keys this diffbench does not know, kept as they were

    def to_dict(self) -> dict:
        """The JSON object a file records: every field that has a value, then :attr:`extra`."""
        found = {f.name: getattr(self, f.name) for f in FIELDS if getattr(self, f.name) is not None
                 and (getattr(self, f.name) or f.name not in MERGED_ONLY)}
        return {**found, **self.extra}

    def runs(self) -> list[dict]:
        """The runs behind it: a merged file's parts, else itself (without PART_OWN)."""
        return self.parts or [{k: v for k, v in self.to_dict().items() if k not in PART_OWN}]

    def hosts(self) -> dict:
        """run_id → host of the runs behind it."""
        return {run["run_id"]: run.get("host") for run in self.runs()}

    @classmethod
    def from_dict(cls, found, where: str) -> RunMeta:
        """The metadata a file recorded, each field checked against its declared type; ``where``
        names it in the one-line UsageError of anything else (e.g. ``"x.parquet: its metadata"``)."""
        if not isinstance(found, dict):
            raise UsageError(f"{where} is not a JSON object")
        if not isinstance(found.get("run_id"), str):
            raise UsageError(f"{where} has no run_id")
        known, extra = {}, {}
        for name, value in found.items():
            if name not in TYPES:
                extra[name] = value
            elif value is None and name != "run_id":
                continue  # unset: its default
            elif not isinstance(value, TYPES[name]) or (isinstance(value, bool) and bool not in TYPES[name]):
                raise UsageError(f"{where}'s {name} is {shown(value)}, not {_WORDS[TYPES[name]]}")
            else:
                known[name] = value
        for name in PART_OWN:  # name → description
            if not all(isinstance(v, dict) for v in known.get(name, {}).values()):
                raise UsageError(f"{where}'s {name} is not an object of objects")
        if not all(isinstance(p, dict) and isinstance(p.get("run_id"), str) for p in known.get("parts", [])):
            raise UsageError(f"{where}'s parts are not a list of runs")
        return cls(**known, extra=extra)


FIELDS = [f for f in dataclasses.fields(RunMeta) if f.name != "extra"]
_HINTS = typing.get_type_hints(RunMeta)


def _types(name: str) -> tuple:
    hint = _HINTS[name]
    kinds = tuple(k for k in typing.get_args(hint) if k is not type(None)) or (hint,)
    return tuple(float if k is float else k for k in kinds) + ((int,) if float in kinds else ())


TYPES = {f.name: _types(f.name) for f in FIELDS}
_WORDS = {kinds: {str: "a text", int: "a whole number", float: "a number", bool: "true or false",
                  list: "a list", dict: "a JSON object"}[kinds[0]] for kinds in TYPES.values()}
