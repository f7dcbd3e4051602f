"""PyTorch: ``torch.autograd.grad`` on the sum of the elementwise outputs.

A scalar case is applied elementwise, so the gradient of the sum is each
point's derivative: one backward pass for all points.  Higher orders repeat it
with ``create_graph``; a derivative that no longer depends on x is zero.  On a
GPU the timed call ends with ``torch.cuda.synchronize``.
"""

from harness.extend import Cell, Evaluator, Unavailable
from harness.namespaces import namespace


def prepare(cell: Cell) -> Evaluator:
    import torch

    if cell.device == "gpu" and not torch.cuda.is_available():
        raise Unavailable("PyTorch sees no CUDA device")
    device = torch.device("cuda" if cell.device == "gpu" else "cpu")
    dtype = getattr(torch, cell.dtype)
    xp = namespace("torch")
    order = cell.order
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def derivative(x):
        x = x.detach().requires_grad_(True)
        y = cell.case.fn(xp, x)
        for k in range(order):
            if not y.requires_grad:  # constant in x: every further derivative is 0
                y = torch.zeros_like(x)
                break
            (y,) = torch.autograd.grad(
                y.sum(), x, create_graph=k < order - 1, materialize_grads=True
            )
        sync()
        return y

    return Evaluator(
        call=derivative,
        to_device=lambda a: torch.as_tensor(a, dtype=dtype, device=device),
        to_numpy=lambda t: t.detach().cpu().numpy(),
    )
