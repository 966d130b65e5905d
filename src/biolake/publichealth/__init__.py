"""biolake.publichealth."""
