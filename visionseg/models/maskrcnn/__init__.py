"""Mask R-CNN for defect instances: the pure network, its LightningModule and its Method."""
