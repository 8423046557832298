"""Hypothesis fuzzing of list filters; imported only when fuzzing is selected (``-m fuzz``)."""
