"""``diffbench run --dry-run``: the cells a selection would measure, each with its estimated
seconds (:func:`harness.runner.shard.cost`, the model the shards are balanced with), and how they
would split over shards, without measuring anything."""

from __future__ import annotations

from harness.runner import plan as planning
from harness.runner import shard

SHARD_COUNTS = (2, 4, 8)


def lines(selection: planning.Selection) -> list[str]:
    """The listing: a line per cell, then the totals and the shards' estimated loads."""
    planned = planning.build(selection)
    rows, total = [], 0.0
    for method, cell in planned.cells:
        reason = method.unsupported_reason(cell)
        seconds = shard.cost(method, cell)
        total += seconds
        case = cell.case
        what = f"unsupported: {reason}" if reason else f"{seconds:8.2f} s"
        rows.append(f"{case.name:<18} {case.size_label or '-':<28} {method.name:<20} {cell.quantity:<10} "
                    f"{cell.order}  {cell.dtype:<7} {cell.device:<4} {what}")
    rows.append(f"{len(rows)} cells, about {total / 60:.1f} min estimated on one worker "
                f"(profile {selection.sizes}; nothing measured)")
    if not selection.shard:  # a shard's own cells are listed as they are
        for n in SHARD_COUNTS:
            loads = shard.estimated_loads(planned.cells, n)
            rows.append(f"--shard i/{n}: " + ", ".join(f"{load / 60:.1f}" for load in loads) + " min")
    return rows
