"""Trained models: pure nn.Modules (what gets exported) apart from their Lightning wrappers."""
