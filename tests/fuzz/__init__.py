"""Property-based tests of every boundary with generated hostile input (``make test``), and ``make fuzz``."""
