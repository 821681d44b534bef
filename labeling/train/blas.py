"""Fits on one BLAS thread: the end-model search's logistic regressions.

Why: they multiply 384- or ~60k-column matrices by a few class columns, where a second
OpenBLAS thread gains little on an idle machine and spins on a busy one. On 2 shared
cores one MiniLM CV fit on trec's 26k weighted rows took 14 s with 2 threads and 1.4 s
with one, a TF-IDF fit 6.9 s and 3.3 s; the default search went from 2,239 s to 293 s
(benchmarks/search.py, docs/end_models.md). torch (MiniLM's own MKL) is not touched.
"""

from __future__ import annotations

import functools

from threadpoolctl import threadpool_limits


def on_one_blas_thread(func):
    """``func`` run with NumPy/SciPy's BLAS on one thread, the caller's limit restored."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return func(*args, **kwargs)
    return wrapper
