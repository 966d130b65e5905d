"""biolake.service."""
