"""Choosing the part rule for a line's target: sweep it on a validation split, pick the
operating point (false-reject rate on good parts <= X with the fewest escapes, or escape
rate <= Y with the fewest false rejects), and store it where infer.py finds it."""
