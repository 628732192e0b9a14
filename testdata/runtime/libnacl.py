# import: libnacl
# libsodium: a key pair and a sealed box.
import libnacl
pk, sk = libnacl.crypto_box_keypair()
sealed = libnacl.crypto_box_seal(b"ldslim", pk)
assert libnacl.crypto_box_seal_open(sealed, pk, sk) == b"ldslim"
print("ok sodium", len(pk))
