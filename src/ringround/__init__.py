"""Ringround: self-hosted phone canvassing for volunteer-run campaigns."""

__version__ = "0.1.0"
