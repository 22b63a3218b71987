"""`python -m trtnn.cli ...` == `trtnn ...`."""
from . import entry

entry()
