"""A package whose extension module needs a symbol nothing defines."""
from nativeext._native import compute  # noqa: F401
