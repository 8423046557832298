"""The spec tier: generic scenarios beyond the kits (``scenarios``) and the event callback listener (``listener``)."""
