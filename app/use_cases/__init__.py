"""One module per resource; each use case is a function that reads like its business rule.

Use cases run inside a unit of work opened by the caller and never commit: the caller owns the
transaction boundary, so an idempotency record or an audit entry commits with the effect.
"""
