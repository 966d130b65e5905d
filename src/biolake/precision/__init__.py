"""biolake.precision."""
