"""The HTTP API for backends in any language: one more face of the same core (``application/``)."""
