# import: psycopg
# libpq through ctypes: its version, from the library itself.
import psycopg
from psycopg import pq
assert pq.__impl__ == "python", pq.__impl__
print("ok libpq", pq.version())
