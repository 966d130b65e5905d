"""biolake.genomics."""
