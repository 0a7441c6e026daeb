"""creditbook: credit-line approval for resellers of AI API access."""

import os

from creditbook.version import __version__

# python-docx (the contract annex as .docx) installs lxml, and openpyxl writes through lxml when
# it is present: a full disk then surfaces as lxml's SerialisationError, with a traceback printed
# as its abandoned writer is collected, instead of an OSError. openpyxl's own writer is kept.
os.environ.setdefault("OPENPYXL_LXML", "False")

__all__ = ["__version__"]
