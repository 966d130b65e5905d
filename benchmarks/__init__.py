"""Side-by-side benchmarks of biolake against peer tools (``make bench``, ``python -m benchmarks``)."""
