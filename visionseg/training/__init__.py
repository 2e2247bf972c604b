"""The training run behind train.py."""
