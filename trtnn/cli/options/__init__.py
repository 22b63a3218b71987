"""Option groups shared by several commands (quantization, engine metadata)."""
