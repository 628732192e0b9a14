"""A small pandas computation with a known answer."""

import io

import numpy as np
import pandas as pd

CSV = """city,month,sales
Oslo,1,3
Lima,1,5
Oslo,2,7
Pune,2,11
Lima,3,13
Oslo,3,17
"""

df = pd.read_csv(io.StringIO(CSV))  # the C parser
totals = df.groupby("city")["sales"].sum()  # cython groupby
rolling = df["sales"].rolling(2).mean().iloc[-1]  # (13 + 17) / 2
m = np.arange(1, 10, dtype=np.float64).reshape(3, 3)
trace = float(np.trace(m @ m.T))  # BLAS: the sum of squares 1..9 = 285
print(f"pandas {pd.__version__}, numpy {np.__version__}")
print(
    "result:",
    " ".join(f"{city}={int(total)}" for city, total in totals.items()),
    f"rolling={rolling:g}",
    f"trace={trace:g}",
)
