"""One module per weight-file format; `trtnn.io.checkpoint` is their face."""
