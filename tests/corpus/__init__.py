"""Small PyTorch models written for the codegen tests: each module has `make() -> (model, example_inputs)`."""
