"""The built-in differentiation methods: one registration line each."""

from functools import partial

from harness.extend import Method, register_method
from harness.methods import finite_diff, jax_grad, symbolic, torch_autograd

GPU = ("cpu", "gpu")

register_method(Method("sympy", "symbolic", symbolic.prepare, ("sympy",), max_order=4, description="sympy.diff, then lambdify to NumPy"))
register_method(Method("forward", "numerical", partial(finite_diff.prepare, scheme="forward"), description="(f(x+h) − f(x))/h, h = √ε·max(1,|x|)"))
register_method(Method("backward", "numerical", partial(finite_diff.prepare, scheme="backward"), description="(f(x) − f(x−h))/h, h = √ε·max(1,|x|)"))
register_method(Method("central", "numerical", partial(finite_diff.prepare, scheme="central"), description="(f(x+h) − f(x−h))/2h, h = ∛ε·max(1,|x|)"))
register_method(Method("jax", "automatic", jax_grad.prepare, ("jax",), GPU, max_order=4, description="jax.jit(jax.vmap(jax.grad(f)))"))
register_method(Method("torch", "automatic", torch_autograd.prepare, ("torch",), GPU, max_order=4, description="torch.autograd.grad of the summed elementwise output"))
