# import: pyzbar.pyzbar
# libzbar: decode a blank 8x8 image (nothing found, but the decoder ran).
from pyzbar import pyzbar
print("ok zbar", pyzbar.decode((bytes(64), 8, 8)))
