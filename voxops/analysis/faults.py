"""Finding codes of call diagnosis and telephony KPIs, each with the runbook that answers it."""

from __future__ import annotations

from voxops.findings import FindingCode, Severity

S = Severity

# --- call setup -------------------------------------------------------------------------
HIGH_PDD = FindingCode("high-pdd", S.warning, "high-pdd", "Post-dial delay (RFC 6076 SRD) above the SLO")
SERVICE_UNAVAILABLE = FindingCode(
    "service-unavailable", S.error, "503-spike", "A hop answered the INVITE with 503/500/504"
)
CODEC_REJECTED = FindingCode(
    "codec-rejected", S.error, "codec-rejection-488", "The INVITE was refused with 488/606 (no common codec)"
)
AUTH_FAILED = FindingCode(
    "auth-failed", S.error, "auth-failures", "The call ended on an authentication challenge or 403"
)
BUSY_HERE = FindingCode(
    "busy-here", S.warning, "agent-pool-saturated", "Our side answered 486 Busy Here: the SBC's admission control or the agent pool"
)
FAILOVER = FindingCode(
    "failover", S.warning, "trunk-down", "A node failed over: the next hop did not answer or refused the INVITE"
)
SETUP_FAILED = FindingCode("setup-failed", S.warning, "asr-drop", "The call was not answered")
SETUP_TIMEOUT = FindingCode(
    "setup-timeout", S.error, "trunk-down", "No final response, or 408: the next hop did not answer"
)
SIP_RETRANSMISSIONS = FindingCode(
    "sip-retransmissions", S.warning, "trunk-down", "SIP requests or responses were retransmitted"
)

# --- SDP and codecs ---------------------------------------------------------------------
TRANSCODING = FindingCode(
    "transcoding", S.error, "silent-transcoding", "RTP carries a payload type the SDP answer did not negotiate"
)
CODEC_DENIED = FindingCode(
    "codec-denied", S.error, "silent-transcoding", "A codec the spec's policy denies was negotiated or sent"
)
CODEC_ASYMMETRY = FindingCode(
    "codec-asymmetry", S.warning, "silent-transcoding", "The two directions carry different codecs"
)
PTIME_MISMATCH = FindingCode(
    "ptime-mismatch", S.info, "silent-transcoding", "Offer and answer ask for different packet times"
)
MISSING_RTPMAP = FindingCode(
    "missing-rtpmap", S.warning, "codec-rejection-488", "A dynamic payload type has no a=rtpmap"
)
NO_TELEPHONE_EVENT = FindingCode(
    "no-telephone-event", S.info, "codec-rejection-488", "RFC 4733 telephone-event was not agreed: DTMF may fail"
)
MEDIA_ON_HOLD = FindingCode(
    "media-on-hold", S.info, "one-way-audio", "The SDP puts media on hold (sendonly / recvonly / inactive)"
)
SRTP_MEDIA = FindingCode(
    "srtp-media", S.info, "one-way-audio", "Media is SRTP: payloads cannot be inspected"
)
PRIVATE_MEDIA_ADDRESS = FindingCode(
    "private-media-address", S.error, "one-way-audio", "The SDP advertises a private (RFC 1918) media address"
)
MEDIA_ADDRESS_MISMATCH = FindingCode(
    "media-address-mismatch", S.warning, "one-way-audio", "RTP comes from another address than the SDP advertised (NAT)"
)

# --- RTP --------------------------------------------------------------------------------
ONE_WAY_AUDIO = FindingCode("one-way-audio", S.critical, "one-way-audio", "RTP flowed in one direction only")
NO_MEDIA = FindingCode("no-media", S.critical, "one-way-audio", "An answered call carried no RTP at all")
RELAY_DROPS_MEDIA = FindingCode(
    "relay-drops-media", S.critical, "one-way-audio", "A media relay receives audio on one leg and forwards none"
)
AMBIGUOUS_MEDIA = FindingCode(
    "ambiguous-media", S.info, "one-way-audio", "Two live calls claim the same RTP 5-tuple: the stream is not told apart"
)
LATE_MEDIA = FindingCode("late-media", S.warning, "one-way-audio", "First RTP long after the 200 OK")
MEDIA_STOPPED = FindingCode("media-stopped", S.error, "one-way-audio", "RTP stopped long before the call ended")
RTP_AFTER_BYE = FindingCode("rtp-after-bye", S.info, "one-way-audio", "RTP kept flowing after the BYE")
PACKET_LOSS = FindingCode("packet-loss", S.error, "packet-loss-low-mos", "RTP packet loss above the SLO")
HIGH_JITTER = FindingCode("high-jitter", S.warning, "packet-loss-low-mos", "RTP jitter above the SLO")
LOW_MOS = FindingCode("low-mos", S.error, "packet-loss-low-mos", "Estimated MOS below the SLO")

# --- KPIs over many calls -----------------------------------------------------------------
ASR_BELOW_SLO = FindingCode("asr-below-slo", S.error, "asr-drop", "ASR in a window below the SLO")
PDD_ABOVE_SLO = FindingCode("pdd-above-slo", S.warning, "high-pdd", "PDD p95 above the SLO")
TRUNK_503_SPIKE = FindingCode("trunk-503-spike", S.error, "503-spike", "A trunk answered a burst of 503s")
MOS_BELOW_SLO = FindingCode("mos-below-slo", S.warning, "packet-loss-low-mos", "Calls with MOS below the SLO")
