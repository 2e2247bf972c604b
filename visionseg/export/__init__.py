"""A trained model for the line: one ONNX graph from a uint8 image to the answer, its
metadata beside it, parity with torch checked at export time, and a Method that runs it
with ONNX Runtime through infer.py's reading, tiling, rule and writers."""
