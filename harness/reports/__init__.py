"""Reports read from the run record: ``summary`` builds it, ``html`` and ``certification`` render it."""
