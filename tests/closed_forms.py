"""Derivatives written by hand, for tests and benchmarks to check methods against."""

import numpy as np


def rosenbrock_gradient(x: np.ndarray) -> np.ndarray:
    """∂/∂x_i of Σ 100(x_{i+1} − x_i²)² + (1 − x_i)²: its own term and the one before; x (N, n)."""
    inner = x[:, 1:] - x[:, :-1] ** 2
    g = np.zeros_like(x)
    g[:, :-1] += -400 * x[:, :-1] * inner - 2 * (1 - x[:, :-1])
    g[:, 1:] += 200 * inner
    return g


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    """The tridiagonal Hessian of the Rosenbrock function; x (N, n) → (N, n, n)."""
    n_points, n = x.shape
    h = np.zeros((n_points, n, n))
    i = np.arange(n - 1)
    h[:, i, i] += 1200 * x[:, :-1] ** 2 - 400 * x[:, 1:] + 2
    h[:, i + 1, i + 1] += 200
    h[:, i, i + 1] = h[:, i + 1, i] = -400 * x[:, :-1]
    return h
