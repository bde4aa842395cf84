"""Everything that touches the outside world: PostgreSQL, HTTP, clocks, randomness, libraries."""
