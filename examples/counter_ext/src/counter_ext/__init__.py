"""hpystate example package.

``counter_ext.counter`` is a real extension module (built by ``hpystate.build.extension``):
``import counter_ext.counter`` goes through CPython's extension loader, which creates a
module instance from the definition in the compiled ``counter_ext._counter``. Every
re-import (after ``del sys.modules[...]``) and every subinterpreter gets another, with its
own state, types and exception.
"""
