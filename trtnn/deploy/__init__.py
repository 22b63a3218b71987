"""Serving trtnn engines: Triton Inference Server model repositories (`triton`)."""
