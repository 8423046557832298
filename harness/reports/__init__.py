"""Reports read from the run record: ``summary`` builds it, ``html`` renders it."""
