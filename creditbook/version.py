"""The package version, recorded in every Decision's audit. A module of its own, so the core reads
it without the package's start-up (`creditbook/__init__.py`)."""

__version__ = "0.1.0"
