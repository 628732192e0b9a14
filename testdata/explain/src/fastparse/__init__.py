"""A package whose extension module was built on a newer glibc."""
from ._speedups import parse  # noqa: F401
