"""One CPU inference at a time per process, on all the cores.

A server thread pool (Gradio runs several requests at once) would otherwise start several MTCNN or
ONNX Runtime calls together, each with a thread per core, and oversubscribe the CPU. ``INFERENCE`` is
the process-wide gate that the detector and the classifiers run under, so the thread count stays
bounded. On 2 cores its throughput equals the ungated one within run-to-run noise, and one thread a
call is 20-25% slower (``python -m bench.concurrency``). On a GPU it only orders the calls.
"""

from __future__ import annotations

import threading
from types import TracebackType


class InferenceGate:
    """A re-entrant lock that can be switched off (``enabled = False``) to measure what it buys."""

    def __init__(self) -> None:
        self.enabled = True
        self._lock = threading.RLock()

    def __enter__(self) -> InferenceGate:
        if self.enabled:
            self._lock.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.enabled:
            self._lock.release()


INFERENCE = InferenceGate()
