"""The CTK tier: suite declarations (``declaration``), the kit's checks (``checks``) and the template engine (``engine``)."""
