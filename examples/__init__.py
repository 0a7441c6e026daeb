"""Bundled examples, installed as `creditbook.bundled_examples` (see pyproject.toml)."""
