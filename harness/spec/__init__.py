"""The spec tier: scenarios beyond the kits (``scenarios``, ``beyond_kits``), one scenario's run (``run``) and the
event callback listener (``listener``)."""
