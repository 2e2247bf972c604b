"""The one interface every segmentation method answers: image in, Prediction out."""

from visionseg.methods.base import Method
from visionseg.methods.prediction import Instances, Prediction

__all__ = ["Instances", "Method", "Prediction"]
