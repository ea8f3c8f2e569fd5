"""A module whose state is safe to use from many threads at once, with or without the GIL.

hpystate makes defining, creating and importing modules thread-safe, and every call gets
its own module instance's state. What the state does with concurrent calls is the module's
business: ``state.count += 1`` is a read, an add and a write, and two threads can interleave
them (with the GIL too, between bytecodes). This state guards its counter with a lock, so the
module can declare ``gil_used=False``: a free-threaded CPython keeps the GIL off when it is
imported. See docs/threads.md.

    python examples/threads/counter.py      # 8 threads x 20,000 increments on two instances
"""
import threading

import hpystate


class Counter(hpystate.ModuleState):
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()         # one per module instance, like the count


counter = hpystate.ModuleDef("threads_demo.counter", state=Counter, gil_used=False)


@counter.function
def incr(state: Counter, n: int = 1) -> int:
    with state.lock:                          # the read-add-write is one step
        state.count += n
        return state.count


@counter.function
def value(state: Counter) -> int:
    return state.count                        # one read: consistent without the lock


def main(threads: int = 8, increments: int = 20_000) -> tuple[int, int]:
    first, second = counter.create(), counter.create()

    def work() -> None:
        for _ in range(increments):
            first.incr()
            second.incr(2)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return value.of(first)(), value.of(second)()


if __name__ == "__main__":
    import sys
    a, b = main()
    gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    print(f"first.value() = {a:,}, second.value() = {b:,} (GIL enabled: {gil})")
