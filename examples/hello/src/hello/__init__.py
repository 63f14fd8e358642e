"""The example project of ocifs."""

__version__ = "0.1.0"
