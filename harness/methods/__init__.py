"""The built-in differentiation methods: one row each, with what it can do declared once.

A row is a method's name, family, mode, ``prepare`` and capabilities (the fields of
:class:`~harness.model.method.Method`: quantities, highest order, dtypes, devices, the largest
stencil it builds, the libraries it needs).  A cell outside them is ``unsupported`` without
``prepare`` being called; ``prepare`` itself checks nothing of the kind again.
"""

from functools import partial

from harness.methods import (
    autograd_method,
    dual_method,
    finite_diff,
    jax_grad,
    library_numerical,
    mygrad_method,
    num_dual_method,
    stencils,
    symbolic,
    tangent_method,
    tensorflow_method,
    torch_autograd,
)
from harness.methods.stencils import MAX_STENCIL_ELEMENTS
from harness.model.method import Method
from harness.model.registry import register_method

ALL = ("derivative", "gradient", "hessian", "jacobian", "jvp", "vjp", "mixed_partial")
FIRST = ("derivative", "gradient", "jacobian", "jvp", "vjp")
F64 = ("float64",)
GPU = ("cpu", "gpu")
STENCIL = "batched stencil: all points, all coordinates at once"
LOOP = "no: a Python loop over points"
LOOP_POINTS = 10**4  # the most points a Python loop over points is tried on

# Capabilities, shared by the rows below (merged with | where a row adds to them)
OPT_IN = dict(default=False)  # measured only when named (--methods)
# a workload of more operations than this (a GMM of 10 points) took SymPy minutes to differentiate
SYMBOLIC = dict(requires=("sympy",), quantities=ALL, max_order=4, backend="sympy", needs_symbolic=True,
                max_work=300)
SYM_OPT_IN = SYMBOLIC | OPT_IN
# n evaluations of f for one gradient: beyond 10⁹ operations a call takes seconds (central on a
# GMM of d = 10, k = 5, n = 1000: 2.3·10⁸ operations, 0.26 s per call)
STENCIL_WORK = 1e9
# adaptive steps (Ridders' table, scipy.differentiate's iterations, numdifftools' step series)
# evaluate f 15–45 times as often as a central difference (that GMM: 3.4–11.5 s per call), and
# numdifftools point by point: 13 s per call on an LSTM gradient of 8·10⁶ operations (l = 1, c = 128)
ADAPTIVE_WORK = STENCIL_WORK / 1000
# one unbatched call of f per evaluation (scipy's approx_fprime, numdifftools' Gradient): each pays
# f's Python overhead, so op-bound code costs far more than its arithmetic (det at ℓ = 7, 7·10⁵
# operations: numdifftools 14 s per call, approx_fprime 0.5 s)
UNBATCHED_WORK = STENCIL_WORK / 10**4
# jit and tf.function record every operation of an unrolled Python recursion: XLA compiled det at
# ℓ = 5 (360 operations) in 1 s, at ℓ = 6 (2,160) in 17 s, and at ℓ = 7 (15,120) not in 2 minutes
TRACED = 1e3
# in blocks of coordinates (memory stays bounded), but n evaluations of f each hold its footprint:
# beyond 2²⁸ numbers a call takes minutes (lse at n = 40,000: 2 minutes); a sparse Jacobian
# along coloured directions
FD = dict(quantities=FIRST, batched=STENCIL, sparse_jacobian=True, max_stencil=2 * MAX_STENCIL_ELEMENTS,
          max_stencil_work=STENCIL_WORK)
CENTRAL4 = dict(quantities=("derivative", "gradient", "jacobian"), max_order=2, batched=STENCIL,
                max_stencil=MAX_STENCIL_ELEMENTS, max_stencil_work=STENCIL_WORK)
COMPLEX = dict(quantities=("derivative", "gradient", "jacobian", "jvp"), batched=STENCIL, analytic_only=True,
               max_stencil=MAX_STENCIL_ELEMENTS, max_stencil_work=STENCIL_WORK)
RICHARDSON = dict(quantities=("derivative", "gradient"), max_order=2, max_stencil=MAX_STENCIL_ELEMENTS,
                  max_stencil_work=ADAPTIVE_WORK,
                  batched="vectorised; each point stops on its own error estimate")
SAMPLED = dict(batched="sampled data: f on the given sorted points")
FPRIME = dict(requires=("scipy.optimize",), quantities=("derivative", "gradient", "jacobian"), dtypes=F64,
              batched=LOOP, max_stencil=MAX_STENCIL_ELEMENTS, max_points=LOOP_POINTS,
              max_stencil_work=UNBATCHED_WORK)
SCIPY_DIFF = dict(requires=("scipy.differentiate",), batched="vectorised by scipy.differentiate",
                  quantities=("derivative", "gradient", "jacobian", "hessian"),
                  max_stencil=MAX_STENCIL_ELEMENTS, max_stencil_work=ADAPTIVE_WORK)
NDT = dict(requires=("numdifftools",), quantities=("derivative", "gradient", "jacobian", "hessian"),
           max_order=4, dtypes=F64, max_stencil=MAX_STENCIL_ELEMENTS, max_points=LOOP_POINTS,
           max_stencil_work=UNBATCHED_WORK,
           batched="Derivative vectorised; Gradient/Jacobian/Hessian: a loop over points")
JAX = dict(requires=("jax",), devices=GPU, quantities=(*ALL, "hvp"), max_order=4, backend="jax",
           sparse_jacobian=True, max_traced=TRACED,
           batched="vmap over points")
JAX_OPT_IN = JAX | OPT_IN | dict(max_traced=None)  # op by op: nothing compiled
# jacfwd pushes n tangents through every intermediate at once: a stencil's memory
JAX_FORWARD = JAX | dict(max_stencil=MAX_STENCIL_ELEMENTS, max_stencil_work=STENCIL_WORK)
TORCH = dict(requires=("torch",), devices=GPU, quantities=(*ALL, "hvp"), max_order=4, backend="torch",
             batched="sum trick: one backward pass for all points")
TORCH_FUNC = TORCH | dict(batched="torch.func.vmap over points")
TORCH_OPT_IN = TORCH_FUNC | OPT_IN | dict(max_traced=TRACED)  # torch.compile traces too
DUAL = dict(quantities=("derivative", "gradient", "jacobian", "jvp"), max_order=4,
            max_stencil=MAX_STENCIL_ELEMENTS, max_stencil_work=STENCIL_WORK,
            batched="array duals over all points (and all n directions at once)")
AUTOGRAD = dict(requires=("autograd",), quantities=ALL, max_order=4, backend="autograd",
                batched="sum trick: one reverse pass for all points")
MYGRAD = dict(requires=("mygrad",), quantities=("derivative", "gradient", "jacobian", "vjp"),
              backend="mygrad", batched="sum trick: one backward pass for all points")
NUM_DUAL = dict(requires=("num_dual",), max_order=4, dtypes=F64, backend="num_dual", batched=LOOP,
                max_work=1e4,
                max_points=LOOP_POINTS,
                quantities=("derivative", "gradient", "hessian", "jacobian", "jvp", "mixed_partial"))
TENSORFLOW = dict(requires=("tensorflow",), quantities=ALL, max_order=4, backend="tensorflow",
                  max_traced=TRACED,
                  batched="tape over all points; batch_jacobian")
# opt-in: it cannot import on a current Python, so in the default matrix it was only a column of
# n/a (122 unavailable cells); `list methods` still gives its reason
TANGENT = dict(requires=("tangent",), dtypes=F64, backend="tangent", batched=LOOP, max_work=1e5,
               max_points=LOOP_POINTS, **OPT_IN,
               hint="tangent 0.1.9, its last release, fails on import on Python 3.11: module 'gast' has no "
                    "attribute 'Num', and it always loads TensorFlow 1.x code (tf.to_float)")

# module aliases, to keep each row on one line
fd, lib, sym = finite_diff.prepare, library_numerical, symbolic.prepare
jax, torch = jax_grad.prepare, torch_autograd.prepare
compiled = partial(torch, api="func", compile=True)  # torch.compile of the torch.func program

METHODS = (
    # name                 family       mode               prepare                          caps
    ("sympy",               "symbolic",  "none",            sym,                             SYMBOLIC),
    ("sympy-cse",           "symbolic",  "none",            partial(sym, variant="cse"),     SYMBOLIC),
    ("sympy-expand",        "symbolic",  "none",            partial(sym, variant="expand"),  SYM_OPT_IN),
    ("forward",             "numerical", "none",            partial(fd, scheme="forward"),   FD),
    ("backward",            "numerical", "none",            partial(fd, scheme="backward"),  FD),
    ("central",             "numerical", "none",            partial(fd, scheme="central"),   FD),
    ("central4",            "numerical", "none",            stencils.prepare_central4,       CENTRAL4),
    ("complex-step",        "numerical", "none",            stencils.prepare_complex_step,   COMPLEX),
    ("richardson",          "numerical", "none",            stencils.prepare_richardson,     RICHARDSON),
    ("np-gradient",         "numerical", "none",            lib.prepare_np_gradient,         SAMPLED),
    ("scipy-approx-fprime", "numerical", "none",            lib.prepare_scipy_approx_fprime, FPRIME),
    ("scipy-differentiate", "numerical", "none",            lib.prepare_scipy_differentiate, SCIPY_DIFF),
    ("numdifftools",        "numerical", "none",            lib.prepare_numdifftools,        NDT),
    ("jax",                 "automatic", "forward+reverse", jax,                             JAX),
    ("jax-fwd",             "automatic", "forward",         partial(jax, variant="fwd"),     JAX_FORWARD),
    ("jax-rev",             "automatic", "reverse",         partial(jax, variant="rev"),     JAX),
    ("jax-nojit",           "automatic", "forward+reverse", partial(jax, jit=False),         JAX_OPT_IN),
    ("torch",               "automatic", "reverse",         torch,                           TORCH),
    ("torch-func",          "automatic", "forward+reverse", partial(torch, api="func"),      TORCH_FUNC),
    ("torch-compile",       "automatic", "forward+reverse", compiled,                        TORCH_OPT_IN),
    ("dual",                "automatic", "forward",         dual_method.prepare,             DUAL),
    ("autograd",            "automatic", "forward+reverse", autograd_method.prepare,         AUTOGRAD),
    ("mygrad",              "automatic", "reverse",         mygrad_method.prepare,           MYGRAD),
    ("num-dual",            "automatic", "forward",         num_dual_method.prepare,         NUM_DUAL),
    ("tensorflow",          "automatic", "forward+reverse", tensorflow_method.prepare,       TENSORFLOW),
    ("tangent",             "automatic", "reverse",         tangent_method.prepare,          TANGENT),
)

DESCRIPTIONS = {
    "sympy": "sympy.diff, then lambdify to NumPy",
    "sympy-cse": "sympy.diff, lambdify with common-subexpression elimination",
    "sympy-expand": "sympy.expand(sympy.diff(f)), then lambdify (opt-in: expanding the loss cases took an "
                    "eighth of the default matrix)",
    "forward": "(f(x+h) − f(x))/h, h = √ε·max(1,|x|)",
    "backward": "(f(x) − f(x−h))/h, h = √ε·max(1,|x|)",
    "central": "(f(x+h) − f(x−h))/2h, h = ∛ε·max(1,|x|)",
    "central4": "4th-order central stencil, h = ε^(1/5)·max(1,|x|)",
    "complex-step": "Im f(x + ih)/h, h = 1e-200 (complex64: 1e-30)",
    "richardson": "Neville table of central differences at h, h/2, h/4, … (Ridders)",
    "np-gradient": "np.gradient(f(x), x, edge_order=2): spacing = the grid's",
    "scipy-approx-fprime": "scipy.optimize.approx_fprime, forward difference, step √ε",
    "scipy-differentiate": "scipy.differentiate derivative/jacobian/hessian, rtol = ε^(5/8)",
    "numdifftools": "numdifftools Derivative/Gradient/Jacobian/Hessian (Richardson)",
    "jax": "jit(vmap(grad)); jacrev, hessian, jvp, vjp; hvp forward-over-reverse",
    "jax-fwd": "jit(vmap(jacfwd)) throughout; hvp reverse-over-forward",
    "jax-rev": "jit(vmap(jacrev)) throughout; hvp reverse-over-reverse",
    "jax-nojit": "vmap(grad) etc. without jit: what jit buys (opt-in: op-by-op dispatch took a sixth of the "
                 "default matrix; the seed-001 preset measures it)",
    "torch": "torch.autograd.grad; hvp reverse-over-reverse",
    "torch-func": "torch.func grad / jacrev / hessian / jvp / vjp; hvp forward-over-reverse",
    "torch-compile": "torch.compile(vmap(torch.func ...)); opt-in: compiles for minutes",
    "dual": "our own truncated-Taylor forward mode on NumPy arrays",
    "autograd": "HIPS autograd: elementwise_grad, jacobian, make_jvp / make_vjp",
    "mygrad": "MyGrad Tensor.backward (first order only)",
    "num-dual": "num-dual (hyper-)dual numbers: first/second/third_derivative, gradient, hessian",
    "tensorflow": "tf.GradientTape in tf.function; ForwardAccumulator for jvp",
    "tangent": "Google Tangent, source transformation (unmaintained since 2018)",
}

for name, family, mode, prepare, caps in METHODS:
    register_method(Method(name, family, prepare, mode=mode, description=DESCRIPTIONS[name], **caps))
