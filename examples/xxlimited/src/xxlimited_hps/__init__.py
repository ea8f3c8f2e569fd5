"""CPython's ``Modules/xxlimited.c`` (the 3.13 template for isolated extension modules),
ported to hpystate: ``import xxlimited_hps.xxlimited`` creates a module instance with its
own ``Xxo``, ``Str`` and ``Error``, in every interpreter and on every re-import."""
