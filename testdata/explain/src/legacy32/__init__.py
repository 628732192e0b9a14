"""A package with a 32-bit extension module."""
from . import _legacy  # noqa: F401
