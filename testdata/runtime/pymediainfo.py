# import: pymediainfo
# libmediainfo, vendored in the wheel and loaded by path.
from pymediainfo import MediaInfo
assert MediaInfo.can_parse()
print("ok mediainfo")
