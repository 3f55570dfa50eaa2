"""MOS by the ITU-T G.107 E-model, simplified as in G.107 Annex B.

R = 93.2 - Id - Ie_eff (the advantage factor A is 0), with
Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3) for a one-way delay d in ms, and
Ie_eff = Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl) (G.107 eq. 7-29), Ppl in percent.
Codec impairments (Ie, Bpl) are those of ITU-T G.113 Appendix I.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

METHOD = "ITU-T G.107 E-model (Annex B simplified), codec Ie/Bpl from G.113 App. I"
R0 = 93.2


@dataclass(frozen=True)
class CodecImpairment:
    name: str
    ie: float
    bpl: float


# G.113 Appendix I (Ie; Bpl from its table I.3 where it has one). G.711 is assumed to run
# with packet loss concealment (as every common endpoint does); G.711 without PLC is the
# conservative alternative. Every codec is rated on the narrowband scale (G.107).
G711_PLC = CodecImpairment("G.711 (PLC)", 0.0, 25.1)
G711_NO_PLC = CodecImpairment("G.711 (no PLC)", 0.0, 4.3)
G729A_VAD = CodecImpairment("G.729A (VAD)", 11.0, 19.0)
# G.113 gives Ie 10 for G.729 without a Bpl; the G.729A value is the closest published one.
G729 = CodecImpairment("G.729", 10.0, 19.0)
# G.722 at 64 kbit/s: Ie 0 on the narrowband scale (its wideband advantage is not rated);
# concealment as G.711's.
G722 = CodecImpairment("G.722 (narrowband scale)", 0.0, 25.1)
G723 = CodecImpairment("G.723.1 (VAD)", 15.0, 16.1)
GSM_FR = CodecImpairment("GSM-FR", 20.0, 10.0)  # Bpl: GSM-EFR's, G.113 gives none for FR
AMR_NB = CodecImpairment("AMR-NB 12.2 (GSM-EFR)", 5.0, 10.0)
ILBC = CodecImpairment("iLBC 15.2 kbit/s", 10.0, 32.0)  # Bpl: published measurements, not G.113
# No G.113 value: estimates from their bit rates, said so in the name.
SPEEX_NB = CodecImpairment("Speex NB (estimate, as G.729)", 11.0, 19.0)
OPUS = CodecImpairment("Opus (estimate: >= 16 kbit/s with PLC)", 5.0, 20.0)
L16 = CodecImpairment("L16 linear PCM (no PLC)", 0.0, 4.3)

_BY_ENCODING = {
    "PCMU": G711_PLC, "PCMA": G711_PLC, "G711": G711_PLC, "G722": G722,
    "G729": G729A_VAD, "G729A": G729A_VAD, "G729AB": G729A_VAD, "G723": G723,
    "GSM": GSM_FR, "GSM-EFR": AMR_NB, "AMR": AMR_NB, "ILBC": ILBC, "SPEEX": SPEEX_NB,
    "OPUS": OPUS, "L16": L16,
}
_BY_STATIC_PT = {0: G711_PLC, 3: GSM_FR, 4: G723, 8: G711_PLC, 9: G722, 10: L16, 11: L16, 18: G729A_VAD}


def codec_impairment(encoding: str | None, payload_type: int | None = None) -> CodecImpairment | None:
    """Ie/Bpl for an encoding name (from rtpmap) or a static payload type; None for a codec
    without a published or estimated value (no MOS is then given)."""
    if encoding:
        return _BY_ENCODING.get(encoding.upper())
    if payload_type is not None:
        return _BY_STATIC_PT.get(payload_type)
    return None


class Mos(BaseModel):
    """A MOS estimate, always with the R factor and the inputs it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mos: float
    r_factor: float
    method: str = METHOD
    codec: str
    loss_pct: float
    delay_ms: float
    burst_ratio: float


def delay_impairment(delay_ms: float) -> float:
    d = max(0.0, delay_ms)
    return 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)


def effective_equipment_impairment(codec: CodecImpairment, loss_pct: float, burst_ratio: float = 1.0) -> float:
    ppl = min(max(loss_pct, 0.0), 100.0)
    burst = max(burst_ratio, 1e-9)
    if ppl == 0:
        return codec.ie
    return codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst + codec.bpl)


def r_to_mos(r: float) -> float:
    """G.107 Annex B (B-4)."""
    if r < 0:
        return 1.0
    if r > 100:
        return 4.5
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def r_factor(codec: CodecImpairment, loss_pct: float, delay_ms: float = 0.0, burst_ratio: float = 1.0) -> float:
    return R0 - delay_impairment(delay_ms) - effective_equipment_impairment(codec, loss_pct, burst_ratio)


def burst_ratio(received: list[bool] | None, loss_pct: float) -> float:
    """BurstR from a received/lost pattern (G.107 Appendix: mean observed burst length
    over the mean burst length of random loss at the same rate); 1 when unknown."""
    if not received or loss_pct <= 0 or loss_pct >= 100:
        return 1.0
    bursts = 0
    lost = 0
    previous = True
    for got in received:
        if not got:
            lost += 1
            if previous:
                bursts += 1
        previous = got
    if bursts == 0:
        return 1.0
    p = loss_pct / 100.0
    return max(1.0, (lost / bursts) * (1 - p))


def estimate_mos(
    codec: CodecImpairment,
    loss_pct: float,
    *,
    delay_ms: float = 0.0,
    burst: float = 1.0,
) -> Mos:
    r = r_factor(codec, loss_pct, delay_ms, burst)
    return Mos(
        mos=round(r_to_mos(r), 2),
        r_factor=round(r, 1),
        codec=codec.name,
        loss_pct=round(loss_pct, 3),
        delay_ms=round(delay_ms, 1),
        burst_ratio=round(burst, 2),
    )
