"""Google's Tangent: source-to-source reverse mode on NumPy code (unmaintained since 2018).

Tangent 0.1.9, its last release, does not import on current Python stacks, so
this method is normally listed as ``unavailable`` with the import error:

* ``pip install tangent`` resolves its ``tf-nightly>=1.5.0.dev20171026`` to a
  TensorFlow 2 nightly (a second copy of the ``tensorflow`` package, beside
  any ``tensorflow-cpu``), plus ``enum34``, ``nose`` and ``future``;
  ``import tangent`` then fails with ``AttributeError: module 'gast' has no
  attribute 'Num'`` (gast ≥ 0.4 has only ``Constant``).
* With ``gast==0.2.2`` it gets further and fails in its TensorFlow extension,
  which it always imports: ``AttributeError: module 'tensorflow' has no
  attribute 'to_float'`` (a TensorFlow 1.x API; no TensorFlow 1.x wheel
  exists for Python ≥ 3.8).

``prepare`` below is what the method would do if Tangent imported: ``tangent.grad`` of
the case at one point, a Python loop over the points.  It has never run here.
"""

from __future__ import annotations

import numpy as np

from harness.model.method import Cell, Evaluator
from harness.model.namespaces import namespace


def prepare(cell: Cell) -> Evaluator:
    import tangent

    xp = namespace("numpy")
    case = cell.case

    def f(x):
        return case.fn(xp, x)

    df = tangent.grad(f)  # the transformed source is generated here, in setup
    return Evaluator(call=lambda x: np.array([df(p) for p in x.tolist()], dtype=x.dtype),
                     info={"batched": "Python loop over points"})
