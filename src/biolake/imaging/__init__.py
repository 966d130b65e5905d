"""biolake.imaging."""
