"""TensorFlow: ``tf.GradientTape`` inside a ``tf.function`` (graph mode, as JAX's jit).

Points are independent rows, so the tape gradient of the output (TensorFlow
sums a non-scalar target) is every point's derivative at once; orders 2–4 nest
tapes.  A Jacobian is ``tape.batch_jacobian`` over the points, a Hessian the
batch Jacobian of an inner tape's gradient, a vjp the gradient seeded with
``output_gradients``, a jvp ``tf.autodiff.ForwardAccumulator`` (forward mode),
a mixed partial two nested tapes.  Tracing happens on the first call, which
the harness counts as setup.  A target that does not depend on x has a zero
gradient (``UnconnectedGradients.ZERO``).

TensorFlow differentiates ``x**k`` as ``k·pow(x, k−1)``, down to ``0·pow(x, −1)``
= 0·∞ at x = 0: the (k+1)-th derivative of xᵏ is NaN there, so the cubic
x³ + 2x² − 3x + 1 has NaN 3rd and 4th derivatives at x = 0 exactly (JAX and
autograd guard this case).  That is TensorFlow's result; the harness reports it.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from harness.host import threads
from harness.model.method import Cell, Evaluator

# TensorFlow's C++ start-up chatter would break the runner's one-line-per-cell output;
# set before the runner's availability check first imports it (a user's own setting wins).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def namespace(tf) -> SimpleNamespace:
    """The case namespace over ``tf.math``; constants become tensors of the points' dtype."""
    return SimpleNamespace(
        __name__="tensorflow",
        sin=tf.math.sin, cos=tf.math.cos, tan=tf.math.tan, tanh=tf.math.tanh, exp=tf.math.exp,
        log=tf.math.log, log1p=tf.math.log1p, sqrt=tf.math.sqrt, abs=tf.math.abs,
        sum=lambda x, axis=None: tf.math.reduce_sum(x, axis=axis),
        mean=lambda x, axis=None: tf.math.reduce_mean(x, axis=axis),
        stack=lambda arrays, axis=0: tf.stack(arrays, axis=axis),
        reshape=tf.reshape,
        maximum=tf.math.maximum,
        where=tf.where,
        max=lambda x, axis=None: tf.math.reduce_max(x, axis=axis),
        min=lambda x, axis=None: tf.math.reduce_min(x, axis=axis),
        matmul=tf.linalg.matmul,
        concat=lambda arrays, axis=0: tf.concat(arrays, axis=axis),
        fold=lambda step, carry, xs: tf.foldl(step, xs, initializer=carry),  # a graph loop, for scan
        asarray=lambda value, dtype=None, device=None: tf.constant(value, dtype=dtype),
    )


def _program(tf, f, cell: Cell, v, u):
    """The quantity at all points as a function of the points (a tensor of shape (N, ...))."""
    zero = tf.UnconnectedGradients.ZERO
    q, m = cell.quantity, cell.case.out_dim

    def grad(g, x, weights=None):
        """d(weights · g)/dx at every point (weights default to ones), g recorded on a tape."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = g(x)
        seed = None if weights is None else tf.broadcast_to(weights, tf.shape(y))
        return tape.gradient(y, x, output_gradients=seed, unconnected_gradients=zero)

    def batch_jacobian(g, x):
        """(N, k, n): the Jacobian of g: (N, n) → (N, k) at every point, by ``batch_jacobian``."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = g(x)
        return tape.batch_jacobian(y, x, unconnected_gradients=zero)

    if q == "derivative":
        def nth(x, k=cell.order):  # each order's tape records the one inside it
            return f(x) if k == 0 else grad(lambda y: nth(y, k - 1), x)
        return nth
    if q == "gradient":
        return lambda x: grad(f, x)
    if q == "vjp":
        return lambda x: grad(f, x, u)
    if q == "mixed_partial":
        i, j = cell.case.mixed
        return lambda x: grad(lambda y: grad(f, y)[..., i], x)[..., j]
    if q == "jvp":
        def jvp(x):
            with tf.autodiff.ForwardAccumulator(x, tf.broadcast_to(v, tf.shape(x))) as acc:
                y = f(x)
            return acc.jvp(y, unconnected_gradients=zero)
        return jvp
    if q == "jacobian":
        return lambda x: batch_jacobian(lambda y: tf.reshape(f(y), (-1, m)), x)
    if q == "hessian":
        return lambda x: batch_jacobian(lambda y: grad(f, y), x)
    raise ValueError(q)


def prepare(cell: Cell) -> Evaluator:
    import tensorflow as tf

    threads.enforce()  # its thread pools are sized when its runtime starts: now, before the first op

    tf.get_logger().setLevel("ERROR")  # every cell traces a fresh tf.function: retracing warnings are noise
    dtype = getattr(tf, cell.dtype)
    xp = namespace(tf)
    case = cell.case
    v = tf.constant(case.tangent(), dtype=dtype)
    cot = tf.constant(case.cotangent(), dtype=dtype)
    u = cot if case.out_dim > 1 else cot[0]

    def f(x):
        return case.fn(xp, x)

    program = tf.function(_program(tf, f, cell, v, u))
    return Evaluator(
        call=program,  # graph mode returns concrete results: nothing left to wait for
        to_device=lambda a: tf.constant(a, dtype=dtype),
        to_numpy=lambda t: t.numpy(),
    )
