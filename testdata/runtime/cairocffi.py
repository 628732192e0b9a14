# import: cairocffi
# libcairo through cffi: draw and read back a pixel.
import cairocffi
surface = cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 8, 8)
context = cairocffi.Context(surface)
context.set_source_rgb(1, 0, 0)
context.paint()
print("ok cairo", cairocffi.cairo_version_string(), bytes(surface.get_data())[:4].hex())
