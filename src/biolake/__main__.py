"""``python -m biolake`` runs the command line."""

from biolake.cli import main

if __name__ == "__main__":
    main()
