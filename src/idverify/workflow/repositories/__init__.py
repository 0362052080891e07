"""Every query of the workflow, one module per area: the services hold the rules and call these; nothing else in
:mod:`idverify.workflow` builds a ``select``, a ``delete`` or an ``execute``.

Functions take the caller's session and never commit: the service (or the route) owns the transaction. They
return model rows or plain values, and add rows to the session without flushing unless they say so.
"""
