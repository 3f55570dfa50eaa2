"""Reference encoders (the same Debian libraries, their encoding side) for round-trip tests."""

from __future__ import annotations

import ctypes

import numpy as np

from voxops.audio import native

_u8p = ctypes.POINTER(ctypes.c_uint8)
_i16p = ctypes.POINTER(ctypes.c_int16)
OPUS_APPLICATION_VOIP = 2048
OPUS_SET_BITRATE = 4002


def g722_encode(pcm16k: np.ndarray) -> bytes:
    lib = native.load("spandsp")
    state = lib.g722_encode_init(None, 64000, 0)
    pcm = np.ascontiguousarray(pcm16k, np.int16)
    out = (ctypes.c_uint8 * (len(pcm) // 2 + 1))()
    n = lib.g722_encode(state, out, pcm.ctypes.data_as(_i16p), len(pcm))
    lib.g722_encode_free(state)
    return bytes(out[:n])


def opus_encode(pcm: np.ndarray, rate: int = 16000, frame_ms: int = 20, bitrate: int = 32000) -> list[bytes]:
    lib = native.load("opus")
    err = ctypes.c_int(0)
    state = lib.opus_encoder_create(rate, 1, OPUS_APPLICATION_VOIP, ctypes.byref(err))
    assert err.value == 0
    ctl = lib.opus_encoder_ctl
    ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int32]
    ctl(state, OPUS_SET_BITRATE, bitrate)
    size = rate * frame_ms // 1000
    packets, buf = [], (ctypes.c_uint8 * 1500)()
    for i in range(len(pcm) // size):
        frame = np.ascontiguousarray(pcm[i * size: (i + 1) * size], np.int16)
        n = lib.opus_encode(state, frame.ctypes.data_as(_i16p), size, buf, 1500)
        assert n > 0
        packets.append(bytes(buf[:n]))
    lib.opus_encoder_destroy(state)
    return packets


def g729_encode(pcm8k: np.ndarray) -> list[bytes]:
    """One 10-byte frame per 10 ms (no VAD)."""
    lib = native.load("bcg729")
    state = lib.initBcg729EncoderChannel(0)
    out, length = (ctypes.c_uint8 * 10)(), ctypes.c_uint8(0)
    frames = []
    for i in range(len(pcm8k) // 80):
        frame = np.ascontiguousarray(pcm8k[i * 80: (i + 1) * 80], np.int16)
        lib.bcg729Encoder(state, frame.ctypes.data_as(_i16p), out, ctypes.byref(length))
        frames.append(bytes(out[: length.value]))
    lib.closeBcg729EncoderChannel(state)
    return frames


def snr_db(reference: np.ndarray, decoded: np.ndarray, max_lag: int = 400) -> float:
    """SNR after the best alignment (codecs delay their output by a few ms)."""
    ref = reference.astype(np.float64)
    best = -np.inf
    for lag in range(0, max_lag):
        n = min(len(ref), len(decoded) - lag)
        if n <= 0:
            break
        d = decoded[lag: lag + n].astype(np.float64)
        noise = np.sum((ref[:n] - d) ** 2)
        best = max(best, 10 * np.log10(np.sum(ref[:n] ** 2) / max(noise, 1e-9)))
    return float(best)
