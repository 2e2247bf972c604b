"""The one interface every segmentation method answers: image in, Prediction out."""

from visionseg.core.method import Method
from visionseg.core.prediction import Instances, Prediction

__all__ = ["Instances", "Method", "Prediction"]
