"""trtnn's version, importable without importing torch or TensorRT."""
__version__ = "0.1.0"
