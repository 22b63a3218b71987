"""Files: checkpoints in every format, atomic writes, the engine's JSON sidecar."""
