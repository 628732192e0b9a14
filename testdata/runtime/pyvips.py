# import: pyvips
# libvips through cffi (by soname): an image computed and measured.
import pyvips
image = pyvips.Image.black(16, 16) + 42
print("ok vips", pyvips.version(0), pyvips.version(1), image.avg())
