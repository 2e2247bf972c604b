"""What each entry point (train.py, evaluate.py, infer.py, ...) does with its composed config:
the thin top layer that turns settings into calls on the layers below."""
