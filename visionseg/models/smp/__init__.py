"""segmentation-models-pytorch networks: torch network, Lightning module, Method adapter."""
