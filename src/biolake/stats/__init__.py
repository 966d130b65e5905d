"""biolake.stats."""
