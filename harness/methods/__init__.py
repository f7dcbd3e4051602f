"""The built-in differentiation methods: one registration line each."""

from functools import partial

from harness.extend import Method, register_method
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

ALL = ("derivative", "gradient", "hessian", "jacobian", "jvp", "vjp", "mixed_partial")
FIRST = ("derivative", "gradient", "jacobian", "jvp", "vjp")
GPU = ("cpu", "gpu")
SYMBOLIC = dict(requires=("sympy",), quantities=ALL, max_order=4, backend="sympy", needs_symbolic=True)
FD = dict(quantities=FIRST, batched="batched stencil: all points, all coordinates at once")
JAX = dict(requires=("jax",), devices=GPU, quantities=ALL, max_order=4, backend="jax", batched="vmap over points")
TORCH = dict(requires=("torch",), devices=GPU, quantities=ALL, max_order=4, backend="torch")

register_method(Method("sympy", "symbolic", symbolic.prepare, **SYMBOLIC, description="sympy.diff, then lambdify to NumPy"))
register_method(Method("sympy-cse", "symbolic", partial(symbolic.prepare, variant="cse"), **SYMBOLIC, description="sympy.diff, lambdify with common-subexpression elimination"))
register_method(Method("sympy-expand", "symbolic", partial(symbolic.prepare, variant="expand"), **SYMBOLIC, default=False, description="sympy.expand(sympy.diff(f)), then lambdify (opt-in: expanding the loss cases took an eighth of the default matrix)"))
register_method(Method("forward", "numerical", partial(finite_diff.prepare, scheme="forward"), **FD, description="(f(x+h) − f(x))/h, h = √ε·max(1,|x|)"))
register_method(Method("backward", "numerical", partial(finite_diff.prepare, scheme="backward"), **FD, description="(f(x) − f(x−h))/h, h = √ε·max(1,|x|)"))
register_method(Method("central", "numerical", partial(finite_diff.prepare, scheme="central"), **FD, description="(f(x+h) − f(x−h))/2h, h = ∛ε·max(1,|x|)"))
register_method(Method("central4", "numerical", stencils.prepare_central4, quantities=("derivative", "gradient", "jacobian"), max_order=2, batched="batched stencil: all points, all coordinates at once", description="4th-order central stencil, h = ε^(1/5)·max(1,|x|)"))
register_method(Method("complex-step", "numerical", stencils.prepare_complex_step, quantities=("derivative", "gradient", "jacobian", "jvp"), batched="batched stencil: all points, all coordinates at once", analytic_only=True, description="Im f(x + ih)/h, h = 1e-200 (complex64: 1e-30)"))
register_method(Method("richardson", "numerical", stencils.prepare_richardson, quantities=("derivative", "gradient"), max_order=2, batched="vectorised; each point stops on its own error estimate", description="Neville table of central differences at h, h/2, h/4, … (Ridders)"))
register_method(Method("np-gradient", "numerical", library_numerical.prepare_np_gradient, batched="sampled data: f on the given sorted points", description="np.gradient(f(x), x, edge_order=2): spacing = the grid's"))
register_method(Method("scipy-approx-fprime", "numerical", library_numerical.prepare_scipy_approx_fprime, ("scipy.optimize",), quantities=("derivative", "gradient", "jacobian"), dtypes=("float64",), batched="no: a Python loop over points", description="scipy.optimize.approx_fprime, forward difference, step √ε"))
register_method(Method("scipy-differentiate", "numerical", library_numerical.prepare_scipy_differentiate, ("scipy.differentiate",), quantities=("derivative", "gradient", "jacobian", "hessian"), batched="vectorised by scipy.differentiate", description="scipy.differentiate derivative/jacobian/hessian, rtol = ε^(5/8)"))
register_method(Method("numdifftools", "numerical", library_numerical.prepare_numdifftools, ("numdifftools",), quantities=("derivative", "gradient", "jacobian", "hessian"), max_order=4, dtypes=("float64",), batched="Derivative vectorised; Gradient/Jacobian/Hessian: a loop over points", description="numdifftools Derivative/Gradient/Jacobian/Hessian (Richardson)"))
register_method(Method("jax", "automatic", jax_grad.prepare, **JAX, mode="forward+reverse", description="jit(vmap(grad)); jacrev, hessian, jvp, vjp"))
register_method(Method("jax-fwd", "automatic", partial(jax_grad.prepare, variant="fwd"), **JAX, mode="forward", description="jit(vmap(jacfwd)) throughout"))
register_method(Method("jax-rev", "automatic", partial(jax_grad.prepare, variant="rev"), **JAX, mode="reverse", description="jit(vmap(jacrev)) throughout"))
register_method(Method("jax-nojit", "automatic", partial(jax_grad.prepare, jit=False), **JAX, mode="forward+reverse", default=False, description="vmap(grad) etc. without jit: what jit buys (opt-in: op-by-op dispatch took a sixth of the default matrix; the seed-001 preset measures it)"))
register_method(Method("torch", "automatic", torch_autograd.prepare, **TORCH, mode="reverse", batched="sum trick: one backward pass for all points", description="torch.autograd.grad"))
register_method(Method("torch-func", "automatic", partial(torch_autograd.prepare, api="func"), **TORCH, mode="forward+reverse", batched="torch.func.vmap over points", description="torch.func grad / jacrev / hessian / jvp / vjp"))
register_method(Method("torch-compile", "automatic", partial(torch_autograd.prepare, api="func", compile=True), **TORCH, mode="forward+reverse", batched="torch.func.vmap over points", default=False, description="torch.compile(vmap(torch.func ...)); opt-in: compiles for minutes"))
register_method(Method("dual", "automatic", dual_method.prepare, quantities=("derivative", "gradient", "jacobian", "jvp"), max_order=4, mode="forward", backend="numpy", batched="array duals over all points (and all n directions at once)", description="our own truncated-Taylor forward mode on NumPy arrays"))
register_method(Method("autograd", "automatic", autograd_method.prepare, requires=("autograd",), quantities=ALL, max_order=4, mode="forward+reverse", backend="autograd", batched="sum trick: one reverse pass for all points", description="HIPS autograd: elementwise_grad, jacobian, make_jvp / make_vjp"))
register_method(Method("mygrad", "automatic", mygrad_method.prepare, requires=("mygrad",), quantities=("derivative", "gradient", "jacobian", "vjp"), mode="reverse", backend="mygrad", batched="sum trick: one backward pass for all points", description="MyGrad Tensor.backward (first order only)"))
register_method(Method("num-dual", "automatic", num_dual_method.prepare, requires=("num_dual",), quantities=("derivative", "gradient", "hessian", "jacobian", "jvp", "mixed_partial"), max_order=4, dtypes=("float64",), mode="forward", backend="num_dual", batched="no: a Python loop over points", description="num-dual (hyper-)dual numbers: first/second/third_derivative, gradient, hessian"))
register_method(Method("tensorflow", "automatic", tensorflow_method.prepare, requires=("tensorflow",), quantities=ALL, max_order=4, mode="forward+reverse", backend="tensorflow", batched="tape over all points; batch_jacobian", description="tf.GradientTape in tf.function; ForwardAccumulator for jvp"))
register_method(Method("tangent", "automatic", tangent_method.prepare, requires=("tangent",), dtypes=("float64",), mode="reverse", backend="tangent", batched="no: a Python loop over points", description="Google Tangent, source transformation (unmaintained since 2018)", hint="tangent 0.1.9, its last release, fails on import on Python 3.11: module 'gast' has no attribute 'Num', and it always loads TensorFlow 1.x code (tf.to_float)"))
