"""Line monitoring: image statistics against a reference stored with the model (PSI),
the NG rate against its expected value (binomial test), over rolling windows, and a
summary of a results log (text and an HTML page)."""
