"""The model on the line: a watched folder and an HTTP service, both running one image at
a time through the same method, part rule, writers and monitor as batch inference."""
