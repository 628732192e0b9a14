# import: pyvips
# libvips reads and writes HEIF through a plugin (vips-modules-8.14/
# vips-heif.so, opened with g_module_open when libvips starts; its
# libheif and codecs come with it): an AV1 HEIF written and read back.
import pyvips
image = (pyvips.Image.black(16, 16) + 42).cast("uchar")
data = image.heifsave_buffer(compression="av1", lossless=True)
back = pyvips.Image.new_from_buffer(data, "")
print("ok vips heif", back.width, back.height, back.get("heif-compression"))
