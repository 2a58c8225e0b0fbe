"""Reproducible, seeded training of every bundled model: `python -m core.train NAME [options]`."""
