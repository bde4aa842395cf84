"""The pure core of the loyalty programme: standard library only.

Nothing here knows about HTTP, SQL or the clock on the wall; time and randomness arrive
through the ports in :mod:`domain.ports`.
"""
