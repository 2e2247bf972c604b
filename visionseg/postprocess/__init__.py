"""Post-processing steps (morphology, dense CRF), chainable after any method."""

from visionseg.postprocess.base import PostProcess
from visionseg.postprocess.chain import Chain
from visionseg.postprocess.crf import DenseCRF
from visionseg.postprocess.morphology import Morphology

__all__ = ["Chain", "DenseCRF", "Morphology", "PostProcess"]
