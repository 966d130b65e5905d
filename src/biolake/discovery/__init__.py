"""biolake.discovery."""
