"""Python thread states for the threads QuickFIX calls us from.

QuickFIX calls an Application from its own C++ threads, and SWIG wraps every callback in
PyGILState_Ensure / PyGILState_Release. On a thread Python did not start, Ensure finds no
thread state, creates one, and Release deletes it again: every inbound message paid for a new
thread state, an mmap and munmap of its frame stack, a gettid, and page faults on the fresh
frames. Measured in `fixex serve` at 64 orders in flight: about 40 µs of the venue's CPU per
order, a third of its throughput.

One more Ensure, never released, keeps the thread's state for the thread's life: SWIG's own
Ensure and Release then only take and give back the interpreter's lock. The state outlives its
thread (Python cannot know the thread ended), so only a process whose QuickFIX threads live as long
as it does turns this on (`fixex serve`, `fixex market-data`): one state per acceptor. A process that
starts and stops acceptors by the hundred, such as the test suite, leaves it off.
"""

from __future__ import annotations

import ctypes
import threading

__all__ = ["keep_thread_state", "keep_thread_states_in_this_process"]

_enabled = False
# Per thread state: empty again on a thread whose state SWIG deleted, or on a new thread that reuses an old
# thread's id.
_this_thread = threading.local()


def keep_thread_states_in_this_process() -> None:
    """From now on, keep_thread_state() keeps the state of each QuickFIX thread that calls it."""
    global _enabled
    _enabled = True


def keep_thread_state() -> None:
    """Keep the calling thread's Python thread state from now on, when this process asked for it (call it
    from a QuickFIX callback).

    One attribute lookup after the first call on a thread. On a thread Python started it only raises a
    counter that Python ignores when that thread ends.
    """
    if not _enabled or getattr(_this_thread, "kept", False):
        return
    _this_thread.kept = True
    ctypes.pythonapi.PyGILState_Ensure()
