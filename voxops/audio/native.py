"""G.722 (spandsp), Opus (libopus) and G.729 (bcg729) through ctypes.

Every call is bounded: payload lengths are checked before they reach C, output buffers
are sized for the longest packet accepted (`codecs.MAX_PACKET_MS`), and the library is
told the buffer's size where its interface takes one. A library that is not installed
makes the codec `Undecodable`, naming the Debian package that provides it.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from functools import cache

import numpy as np

from voxops.audio.codecs import MAX_PACKET_MS, Undecodable

OPUS_RATE = 16000
OPUS_MAX_BYTES = 1275 * 3  # RFC 6716 3.2: at most 1275 bytes a frame, 120 ms a packet
G722_MAX_BYTES = 8000 * MAX_PACKET_MS // 1000  # 64 kbit/s
G729_FRAME_BYTES = 10  # 10 ms, 80 samples
G729_SID_BYTES = 2  # RFC 3551 4.5.6: Annex B comfort-noise frame at the end
G729_MAX_FRAMES = MAX_PACKET_MS // 10

# library -> (file names tried in order, the Debian package that installs it)
LIBRARIES: dict[str, tuple[tuple[str, ...], str]] = {
    "spandsp": (("libspandsp.so.2",), "libspandsp2"),
    "opus": (("libopus.so.0",), "libopus0"),
    "bcg729": (("libbcg729.so.0",), "libbcg729-0"),
}

_u8p = ctypes.POINTER(ctypes.c_uint8)
_i16p = ctypes.POINTER(ctypes.c_int16)
PcmDecoder = Callable[[bytes], np.ndarray]


@cache
def load(name: str) -> ctypes.CDLL:
    files, package = LIBRARIES[name]
    for file in files:
        try:
            lib = ctypes.CDLL(file)
        except OSError:
            continue
        _declare(name, lib)
        return lib
    raise Undecodable(f"{name} is not installed (Debian package {package})", missing=package)


def _declare(name: str, lib: ctypes.CDLL) -> None:
    vp, c_int = ctypes.c_void_p, ctypes.c_int
    if name == "spandsp":
        lib.g722_decode_init.argtypes, lib.g722_decode_init.restype = [vp, c_int, c_int], vp
        lib.g722_decode.argtypes, lib.g722_decode.restype = [vp, _i16p, _u8p, c_int], c_int
        lib.g722_decode_free.argtypes, lib.g722_decode_free.restype = [vp], c_int
        lib.g722_encode_init.argtypes, lib.g722_encode_init.restype = [vp, c_int, c_int], vp
        lib.g722_encode.argtypes, lib.g722_encode.restype = [vp, _u8p, _i16p, c_int], c_int
        lib.g722_encode_free.argtypes, lib.g722_encode_free.restype = [vp], c_int
    elif name == "opus":
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, c_int, ctypes.POINTER(c_int)]
        lib.opus_decoder_create.restype = vp
        lib.opus_decode.argtypes = [vp, _u8p, ctypes.c_int32, _i16p, c_int, c_int]
        lib.opus_decode.restype = c_int
        lib.opus_decoder_destroy.argtypes, lib.opus_decoder_destroy.restype = [vp], None
        lib.opus_encoder_create.argtypes = [ctypes.c_int32, c_int, c_int, ctypes.POINTER(c_int)]
        lib.opus_encoder_create.restype = vp
        lib.opus_encode.argtypes = [vp, _i16p, c_int, _u8p, ctypes.c_int32]
        lib.opus_encode.restype = ctypes.c_int32
        lib.opus_encoder_destroy.argtypes, lib.opus_encoder_destroy.restype = [vp], None
    else:
        lib.initBcg729DecoderChannel.argtypes, lib.initBcg729DecoderChannel.restype = [], vp
        lib.bcg729Decoder.argtypes = [vp, _u8p, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_uint8,
                                      ctypes.c_uint8, _i16p]
        lib.bcg729Decoder.restype = None
        lib.closeBcg729DecoderChannel.argtypes, lib.closeBcg729DecoderChannel.restype = [vp], None
        lib.initBcg729EncoderChannel.argtypes = [ctypes.c_uint8]
        lib.initBcg729EncoderChannel.restype = vp
        lib.bcg729Encoder.argtypes = [vp, _i16p, _u8p, _u8p]
        lib.bcg729Encoder.restype = None
        lib.closeBcg729EncoderChannel.argtypes, lib.closeBcg729EncoderChannel.restype = [vp], None


def _state(holder: object, state: int | None, free: Callable[[int], object], what: str) -> int:
    if not state:
        raise Undecodable(f"{what}: the library could not create a codec state")
    weakref.finalize(holder, free, state)
    return state


def _bytes_in(payload: bytes) -> ctypes.Array[ctypes.c_uint8]:
    return (ctypes.c_uint8 * max(len(payload), 1)).from_buffer_copy(payload or b"\0")


class _G722:
    def __init__(self) -> None:
        self.lib = load("spandsp")
        self.state = _state(self, self.lib.g722_decode_init(None, 64000, 0), self.lib.g722_decode_free, "G.722")
        self.out = np.zeros(2 * G722_MAX_BYTES, np.int16)  # two 16 kHz samples a byte

    def __call__(self, payload: bytes) -> np.ndarray:
        if len(payload) > G722_MAX_BYTES:
            raise ValueError(f"{len(payload)} bytes is longer than {MAX_PACKET_MS} ms of G.722")
        n = self.lib.g722_decode(self.state, self.out.ctypes.data_as(_i16p), _bytes_in(payload), len(payload))
        return self.out[: max(0, min(n, len(self.out)))].copy()


class _Opus:
    def __init__(self) -> None:
        self.lib = load("opus")
        err = ctypes.c_int(0)
        state = self.lib.opus_decoder_create(OPUS_RATE, 1, ctypes.byref(err))
        self.state = _state(self, state if err.value == 0 else None, self.lib.opus_decoder_destroy, "Opus")
        self.out = np.zeros(OPUS_RATE * 120 // 1000, np.int16)  # the longest Opus packet: 120 ms

    def __call__(self, payload: bytes) -> np.ndarray:
        if not payload or len(payload) > OPUS_MAX_BYTES:
            raise ValueError(f"{len(payload)} bytes is not an Opus packet")
        n = self.lib.opus_decode(self.state, _bytes_in(payload), len(payload),
                                 self.out.ctypes.data_as(_i16p), len(self.out), 0)
        if n < 0:
            raise ValueError(f"libopus refused the packet (error {n})")
        return self.out[: min(n, len(self.out))].copy()


class _G729:
    def __init__(self) -> None:
        self.lib = load("bcg729")
        self.state = _state(self, self.lib.initBcg729DecoderChannel(), self.lib.closeBcg729DecoderChannel, "G.729")
        self.frame = np.zeros(80, np.int16)

    def __call__(self, payload: bytes) -> np.ndarray:
        frames, rest = divmod(len(payload), G729_FRAME_BYTES)
        if frames > G729_MAX_FRAMES or rest not in (0, G729_SID_BYTES) or not payload:
            raise ValueError(f"{len(payload)} bytes is not a G.729 payload")
        out = []
        for i in range(frames):
            chunk = payload[i * G729_FRAME_BYTES: (i + 1) * G729_FRAME_BYTES]
            self.lib.bcg729Decoder(self.state, _bytes_in(chunk), G729_FRAME_BYTES, 0, 0, 0,
                                   self.frame.ctypes.data_as(_i16p))
            out.append(self.frame.copy())
        if rest:  # Annex B SID: comfort noise for one frame
            self.lib.bcg729Decoder(self.state, _bytes_in(payload[-rest:]), rest, 0, 1, 0,
                                   self.frame.ctypes.data_as(_i16p))
            out.append(self.frame.copy())
        return np.concatenate(out)


def g722_decoder() -> PcmDecoder:
    return _G722()


def opus_decoder() -> PcmDecoder:
    return _Opus()


def g729_decoder() -> PcmDecoder:
    return _G729()
