"""PyTorch autograd (``torch.autograd.grad``) and ``torch.func``.

``torch`` batches over points with the sum trick: points are independent rows,
so the gradient of the summed output is every point's gradient in one
backward pass; a Hessian or Jacobian takes one more pass per coordinate or
output (a loop over n or m, never over points); a jvp uses the double-vjp
trick.  Higher orders repeat with ``create_graph``; a derivative that no longer
depends on x is zero.  ``torch-func`` composes ``torch.func`` transforms
(grad, jacrev, jacfwd, hessian, jvp, vjp) with ``vmap`` over the points;
``compile`` wraps that in ``torch.compile``.  On a GPU the timed call ends with
``torch.cuda.synchronize``.
"""

from harness.model.method import Cell, Evaluator, Unavailable
from harness.model.namespaces import namespace


def _grad(torch, y, x, create_graph=False, retain_graph=True):
    """d(sum y)/dx, zero where y does not depend on x (``retain_graph``: y's graph is kept for
    another pass, as a Jacobian's or Hessian's rows need it)."""
    if not y.requires_grad:
        return torch.zeros_like(x)
    total = y if y.ndim == 0 else y.sum()
    (g,) = torch.autograd.grad(total, x, create_graph=create_graph, retain_graph=retain_graph or None,
                               allow_unused=True)
    return torch.zeros_like(x) if g is None else g


def _autograd(torch, f, cell: Cell, v, u):
    q, order = cell.quantity, cell.order
    i, j = cell.case.mixed

    def one_point(x):
        """The gradient or vjp at a single point, differentiated without the batch axis, as a PyTorch
        user writes it: PyTorch runs eagerly, and every operation on a (1, …) batch (a batched
        product, its broadcast's reduction in the backward pass) cost 1.2–1.7× at the small sizes
        of the workloads (benchmarks/fairness)."""
        x = x[0].detach().requires_grad_(True)
        y = f(x) * u if q == "vjp" else f(x)
        if not y.requires_grad:
            return torch.zeros_like(x).unsqueeze(0)
        (y if y.ndim == 0 else y.sum()).backward()  # into a leaf of its own: what the user writes
        return (torch.zeros_like(x) if x.grad is None else x.grad).unsqueeze(0)

    def call(x):
        if q in ("gradient", "vjp") and x.ndim == 2 and x.shape[0] == 1:
            return one_point(x)
        # θ is one leaf, the case's parameter blocks views of it (what the case's f takes): leaves
        # sliced per block and concatenated back cost 40–60 µs a call more (benchmarks/fairness)
        x = x.detach().requires_grad_(True)
        y = f(x)
        if q == "derivative":
            for k in range(order):
                y = _grad(torch, y, x, create_graph=k < order - 1, retain_graph=k < order - 1)
            return y
        if q == "gradient":  # one backward pass: the graph is not kept
            return _grad(torch, y, x, retain_graph=False)
        if q == "vjp":
            return _grad(torch, y * u, x, retain_graph=False)
        if q == "jacobian":
            return torch.stack([_grad(torch, y[:, k], x) for k in range(y.shape[1])], dim=1)
        if q == "jvp":
            if y.ndim == 1:
                return (_grad(torch, y, x) * v).sum(-1)
            w = torch.zeros_like(y, requires_grad=True)  # double-vjp: J·v = d/dw (wᵀJ)·v
            g = _grad(torch, y * w, x, create_graph=True)
            return _grad(torch, g * v, w)
        g = _grad(torch, y, x, create_graph=True)
        if q == "hvp":  # reverse-over-reverse: the gradient of ∇f·v
            return _grad(torch, (g * v).sum(-1), x)
        if q == "hessian":
            return torch.stack([_grad(torch, g[:, k], x) for k in range(x.shape[1])], dim=1)
        if q == "mixed_partial":
            return _grad(torch, g[:, i], x)[:, j]
        raise ValueError(q)

    return call


def _func(torch, f, cell: Cell, v, u):
    from torch import func

    q = cell.quantity
    if q == "derivative":
        g = f
        for _ in range(cell.order):
            g = func.grad(g)
    elif q == "gradient" and cell.case.parameters:  # with respect to the dict {name: block}
        blocks = cell.case.blocks()

        def flat(tree):
            return torch.cat([tree[name].reshape(-1) for name, _, _ in blocks])

        grad_tree = func.grad(lambda params: f(flat(params)))

        def g(x):
            return flat(grad_tree({name: x[part].reshape(shape) for name, part, shape in blocks}))
    elif q == "gradient":
        g = func.grad(f)
    elif q == "hessian":
        g = func.hessian(f)
    elif q == "jacobian":
        g = func.jacrev(f)
    elif q == "jvp":
        def g(x):
            return func.jvp(f, (x,), (v,))[1]
    elif q == "vjp":
        def g(x):
            return func.vjp(f, x)[1](u)[0]
    elif q == "mixed_partial":
        i, j = cell.case.mixed

        def g(x):
            return func.grad(lambda y: func.grad(f)(y)[i])(x)[j]
    elif q == "hvp":  # forward-over-reverse
        def g(x):
            return func.jvp(func.grad(f), (x,), (v,))[1]
    else:
        raise ValueError(q)
    return func.vmap(g)


def prepare(cell: Cell, api: str = "autograd", compile: bool = False) -> Evaluator:
    import torch

    if cell.device == "gpu" and not torch.cuda.is_available():
        raise Unavailable("PyTorch sees no CUDA device")
    device = torch.device("cuda" if cell.device == "gpu" else "cpu")
    dtype = getattr(torch, cell.dtype)
    xp = namespace("torch")
    case = cell.case
    v = torch.as_tensor(case.tangent(), dtype=dtype, device=device)
    cot = torch.as_tensor(case.cotangent(), dtype=dtype, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def f(x):
        return case.fn(xp, x)

    if api == "autograd":
        u = cot if case.out_dim > 1 else cot[0]
        derivative = _autograd(torch, f, cell, v, u)
    else:
        u = cot if case.out_dim > 1 else cot[0].reshape(())
        derivative = _func(torch, f, cell, v, u)
    traced = derivative
    if compile:
        derivative = torch.compile(derivative)

    def call(x):
        y = derivative(x)
        sync()
        return y

    def primal(x):
        with torch.no_grad():
            y = f(x)
        sync()
        return y

    def compile_first_call(x) -> None:
        """torch.compile compiles on the first call for the input's shape: that call is compile_s."""
        call(x)

    def describe() -> dict:
        """Operations (aten calls) of the derivative program, traced by torch.fx at one point."""
        from torch.fx.experimental.proxy_tensor import make_fx

        shape = (1,) if case.dim == 1 else (1, case.dim)
        graph = make_fx(traced)(torch.zeros(shape, dtype=dtype, device=device)).graph
        return {"graph_nodes": sum(1 for n in graph.nodes if n.op == "call_function")}

    return Evaluator(
        call=call,
        to_device=lambda a: torch.as_tensor(a, dtype=dtype, device=device),
        to_numpy=lambda t: t.detach().cpu().numpy(),
        primal=primal,
        compile=compile_first_call if compile else None,
        describe=describe,
    )
