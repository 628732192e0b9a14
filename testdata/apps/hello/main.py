"""Hello world: the standard library only."""

import os
import sys

print(f"Hello, world! (Python {sys.version_info[0]}.{sys.version_info[1]}, uid {os.getuid()})")
