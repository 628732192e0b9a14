# import: pylibdmtx.pylibdmtx
# libdmtx: encode a Data Matrix symbol.
from pylibdmtx import pylibdmtx
encoded = pylibdmtx.encode(b"ldslim")
print("ok dmtx", encoded.width, encoded.height)
