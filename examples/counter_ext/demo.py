"""Show what the example module does: two instances, two states, one definition."""
import sys

import counter_ext.counter as first

first.incr(41)
del sys.modules["counter_ext.counter"]
import counter_ext.counter as second  # noqa: E402  (a re-import makes a new instance)

p = first.Point(3.0, 4.0)
print(f"first.count() = {first.count()}, second.count() = {second.count()}")
print(f"{p!r}.norm2() = {p.norm2()}, p + p = {p + p!r}, points made in first: {p.made}")
print(f"first.Point is second.Point: {first.Point is second.Point}")
print(f"C-level: -p = {-p!r}, p.scaled(2) = {p.scaled(2)!r}, first.total() = {first.total()}")
try:
    second.incr(2_000_000)
except first.Overflow:
    print("caught by first.Overflow (wrong!)")
except second.Overflow as exc:
    print(f"second.Overflow: {exc}")
