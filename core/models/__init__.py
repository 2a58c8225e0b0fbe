"""Network definitions, one short file per architecture, and `load(name)` for the bundled weights."""
