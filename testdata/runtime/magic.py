# import: magic
# libmagic through ctypes.util.find_library; it needs its compiled
# database (libmagic-mgc's magic.mgc) as much as the library.
import magic
kind = magic.from_buffer(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", mime=True)
assert kind == "application/pdf", kind
print("ok magic", kind)
