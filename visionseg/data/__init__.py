"""Folder data sets, their audit, the synthetic defect generator, transforms and loaders."""

from visionseg.data.folder import DatasetError, Sample, audit_samples, list_split, load_split

__all__ = ["DatasetError", "Sample", "audit_samples", "list_split", "load_split"]
