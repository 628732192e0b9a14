# import: sounddevice
# PortAudio through cffi (found with find_library): its version; no device
# is needed for that.
import sounddevice
print("ok portaudio", sounddevice.get_portaudio_version()[0])
