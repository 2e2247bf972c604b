"""The range checks of :mod:`visionseg.core.checks`, under their older import path."""

from visionseg.core.checks import check_fraction, check_int, check_number, check_range

__all__ = ["check_fraction", "check_int", "check_number", "check_range"]
