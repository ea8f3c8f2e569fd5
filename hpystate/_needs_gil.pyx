# cython: freethreading_compatible=False
# Empty on purpose. This module declares that it needs the GIL (Py_mod_gil is
# Py_MOD_GIL_USED), so loading it through CPython's extension loader makes a free-threaded
# interpreter enable the GIL, exactly as for any C extension that needs it. hpystate loads it
# when it creates an instance of a ModuleDef with gil_used=True outside that loader
# (create(), register()): CPython offers no public call that enables the GIL.
