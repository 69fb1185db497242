import sys

from erpctl.cli import main

sys.exit(main())
