# import: opuslib
# libopus: encode one 20 ms frame of silence.
import opuslib
encoder = opuslib.Encoder(48000, 1, "voip")
print("ok opus", len(encoder.encode(bytes(1920), 960)))
