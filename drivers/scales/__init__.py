"""Serial scale drivers: Toledo 8217 (``toledo``), MT-SICS (``sics``) and CAS ECR type 6 (``cas``)."""

from drivers.scales.cas import CasOptions, CasScale
from drivers.scales.sics import SicsOptions, SicsScale
from drivers.scales.toledo import ToledoOptions, ToledoScale

__all__ = ["CasOptions", "CasScale", "SicsOptions", "SicsScale", "ToledoOptions", "ToledoScale"]
