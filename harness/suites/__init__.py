"""The five CTK suite declarations and the fuzz suite: ``pytest --pyargs harness.suites``."""
