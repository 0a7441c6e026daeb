"""creditbook: credit-line approval for resellers of AI API access."""

__version__ = "0.1.0"
