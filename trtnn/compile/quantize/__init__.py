"""Explicit quantization while a network is defined: Q/DQ arithmetic, ranges, selection and placement."""
