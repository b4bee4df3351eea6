"""footaudio's version, in a module of its own so nothing inside the package imports ``footaudio``."""

__version__ = "0.1.0"
