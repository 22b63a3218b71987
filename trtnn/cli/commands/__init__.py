"""One module per `trtnn` command, registered here only: name -> one-line summary, in the order --help lists them.

Each module `trtnn.cli.commands.<name>` has `add_parser(subparsers, parents)`, which sets `func`. Only the module of
the command being run is imported (so `trtnn --help` and `trtnn info` start without torch or TensorRT).
"""
SUMMARIES = {
    "build": "build a TensorRT engine from a trtnn model",
    "inspect": "list the layers of a model's TensorRT network (no GPU needed)",
    "calibrate": "write an INT8/FP8 calibration cache (CPU only)",
    "convert": "convert weights between .pt/.pth, .safetensors, .npz and tensorrtx .wts",
    "bench": "time an engine on this machine's GPU (random inputs)",
    "info": "backend, versions, and whether engines can run on this machine",
    "compare": "compare every module's output with a PyTorch model",
    "codegen": "write editable trtnn code (a .py file) for a PyTorch model",
    "precision": "per-module SQNR of fp16/bf16/int8/fp8 against fp32 (CPU)",
    "run": "run an engine (GPU) or a model on the CPU over images, and draw the results",
    "export-triton": "write a Triton Inference Server model repository for engines",
    "refit": "refit a weight-stripped or refittable engine with new weights (GPU)",
}
