"""Decoded call audio: RTP payload to PCM per direction, and what the conversation sounds like.

`codecs` turns one packet's payload into 16-bit samples; `timeline` places a direction's
packets on the call's clock as a jitter buffer would; `voice` and `conversation` find talk
spurts, response gaps, dead air and silent media in the samples. All of it is pure: the
capture is read by `voxops.audio.call`.
"""
