import sys

from emergence_laws.cli import main

sys.exit(main())
