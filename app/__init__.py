"""Use cases, the unit-of-work protocol, settings, the composition root and the CLI."""
