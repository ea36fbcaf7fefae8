"""Work a page starts but must not wait for (a run, the relay's pass): never inside the request.

Production hands it to Celery (a broker is configured). The embedded demo has no broker: there the
work goes to a small pool of threads in the portal's process, after the request's transaction has
committed, each with its own database connection. The tests run it inline (TFOMS_BACKGROUND=inline)
unless they test this very behaviour.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction

logger = logging.getLogger(__name__)

CELERY, THREAD, INLINE = "celery", "thread", "inline"

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_queued: set[str] = set()  # coalesced keys waiting in the pool
_pending: set[Future[Any]] = set()


def mode() -> str:
    return str(settings.TFOMS_BACKGROUND)


def enqueue(task: Any, *args: Any, coalesce: str = "", retry: bool = True) -> None:
    """Have `task` (a Celery task) run with `args` soon, elsewhere. With `coalesce`, a second call
    while the first still waits in the pool adds nothing (the relay's kicks after each commit).
    Celery refusing the task (its broker down) raises: the caller records the failure; `retry=False`
    says so at once instead of Celery's retries (a page waits for it: an online request)."""
    how = mode()
    if how == CELERY:
        task.apply_async(args, retry=retry)
    elif how == INLINE:
        task.apply(args=args)
    else:
        transaction.on_commit(lambda: _submit(task, args, coalesce))


def _submit(task: Any, args: tuple[Any, ...], coalesce: str) -> Future[Any] | None:
    global _pool
    with _pool_lock:
        if coalesce and coalesce in _queued:
            return None
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.TFOMS_BACKGROUND_THREADS, thread_name_prefix="task"
            )
        # Marked only once submitted (a pool shut down raises): a refused kick never blocks the next.
        # The task discards its mark under this lock, so it cannot do so before it is made.
        future = _pool.submit(_run, task, args, coalesce)
        if coalesce:
            _queued.add(coalesce)
        _pending.add(future)
    future.add_done_callback(_done)
    return future


def _done(future: Future[Any]) -> None:
    with _pool_lock:
        _pending.discard(future)


def _run(task: Any, args: tuple[Any, ...], coalesce: str) -> None:
    if coalesce:
        with _pool_lock:
            _queued.discard(coalesce)
    close_old_connections()
    try:
        task.apply(args=args, throw=True)
    except Exception:  # the task records its own failure (a run is closed with the error)
        logger.exception("background task %s failed", getattr(task, "name", task))
    finally:
        connection.close()


def wait_idle(timeout: float = 30.0) -> None:
    """Until the pool is empty, the work its tasks queued in turn included (tests; the demo's end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _pool_lock:
            pending = list(_pending)
        if not pending:
            return
        wait(pending, timeout=max(0.0, deadline - time.monotonic()))
