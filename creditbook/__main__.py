import sys

from creditbook.cli import main

sys.exit(main())
