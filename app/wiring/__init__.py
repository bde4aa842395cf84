"""The wiring: what starts the application (composition root, ASGI factory, CLI, scheduler).

The only part of app/ that may import adapters; nothing outside it imports it.
"""
