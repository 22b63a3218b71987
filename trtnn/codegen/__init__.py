"""trtnn.codegen: from a PyTorch model to editable trtnn code (`generate`), and the round-trip check."""
from .forward import Unmapped
from .generate import GeneratedCode, generate, generate_code
from .roundtrip import RoundTrip, full_state_dict, load_source, round_trip

__all__ = ["GeneratedCode", "RoundTrip", "Unmapped", "full_state_dict", "generate", "generate_code", "load_source",
           "round_trip"]
