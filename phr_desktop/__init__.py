"""phr-desktop: a local-first personal health record."""

__version__ = "0.1.0"
