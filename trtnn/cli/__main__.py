"""`python -m trtnn.cli ...` == `trtnn ...`."""
import sys

from . import main

sys.exit(main())
