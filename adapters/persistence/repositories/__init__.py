"""PostgreSQL implementations of the repository ports.

Every query runs in the unit of work's transaction: Piccolo joins the transaction that is
current in the task's context. Reads that need joins or locks use raw SQL through Piccolo.
"""
