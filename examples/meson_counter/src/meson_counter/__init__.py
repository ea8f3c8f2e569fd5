"""hpystate example built by meson-python: ``meson_counter.counter`` is a real extension
module whose every instance (re-import, subinterpreter) has its own typed state."""
