"""hpystate example package.

``import counter_ext.counter`` creates a module instance from the definition in the compiled
``counter_ext._counter``; every re-import (after ``del sys.modules[...]``) creates another,
with its own state, types and exception.
"""
import hpystate

hpystate.register("counter_ext.counter", "counter_ext._counter:counter_def")
