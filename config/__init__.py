"""Settings read from the environment (``settings.py``), shared by every process."""
