# import: libarchive
# libarchive: a tar written to a file and read back.
import os
import tempfile

import libarchive

# A directory removed afterwards: the snippet runs inside a cached root.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "t.tar")
    with libarchive.file_writer(path, "ustar") as archive:
        archive.add_file_from_memory("hello.txt", 5, b"hello")
    with libarchive.file_reader(path) as archive:
        names = [entry.pathname for entry in archive]
print("ok libarchive", names)
