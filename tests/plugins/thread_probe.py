"""Methods that read back, inside a cell, the thread settings their backend reports.

Each is an exact derivative of ``square`` (2x) whose ``prepare`` asks its own library — not
diffbench — how many threads it will use, and leaves the answer in the cell's ``detail``:
threadpoolctl for NumPy's BLAS and OpenMP, ``torch.get_num_threads``, TensorFlow's
``tf.config.threading`` (its runtime started by one op first), ``XLA_FLAGS`` for JAX, and the
CPUs the measuring process may run on.
"""

import os

from harness.extend import Evaluator, Method, register_method


def _cpus():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _numpy():
    from threadpoolctl import threadpool_info

    return {"blas": sorted({p["num_threads"] for p in threadpool_info()})}


def _torch():
    import torch

    return {"torch": torch.get_num_threads()}


def _tensorflow():
    import tensorflow as tf

    tf.constant(1.0) + 1.0  # the runtime starts: its pools are sized now
    threading = tf.config.threading
    return {"intra_op": threading.get_intra_op_parallelism_threads(),
            "inter_op": threading.get_inter_op_parallelism_threads()}


def _jax():
    import jax.numpy as jnp

    jnp.ones(2).block_until_ready()
    return {"xla_flags": os.environ.get("XLA_FLAGS", "")}


def _probe(read):
    def prepare(cell):
        info = {"cpus": _cpus(), **read()}
        evaluator = Evaluator(call=lambda x: 2 * x)
        evaluator.info.update(probe=info)
        return evaluator
    return prepare


for backend, read, requires in (("numpy", _numpy, ()), ("torch", _torch, ("torch",)),
                                ("tensorflow", _tensorflow, ("tensorflow",)), ("jax", _jax, ("jax",))):
    register_method(Method(f"probe-{backend}", "automatic", _probe(read), requires=requires, backend=backend,
                           description=f"2x, reading back {backend}'s thread settings", dtypes=("float64",)))
