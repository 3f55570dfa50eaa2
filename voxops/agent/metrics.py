"""Prometheus metrics of the agent, in the text exposition format (version 0.0.4).

A few dozen series do not justify a client library: counters, gauges and histograms with
labels, thread-safe, rendered on demand by the health server. Alert rules are generated
against these names, so they are fixed here in one place.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt_labels(labels: Labels, extra: Labels = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in items) + "}"


def _fmt_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> Labels:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.labelnames)}")
        return tuple((k, str(labels[k])) for k in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def render(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in items]


class Gauge(_Metric):
    kind = "gauge"

    def __init__(self, name: str, help_text: str, labelnames: Iterable[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self._values: dict[Labels, float] = {}

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def remove(self, **labels: str) -> None:
        with self._lock:
            self._values.pop(self._key(labels), None)

    def value(self, **labels: str) -> float | None:
        with self._lock:
            return self._values.get(self._key(labels))

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_fmt_labels(k)} {_fmt_value(v)}" for k, v in items]


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: Iterable[float]) -> None:
        super().__init__(name, help_text)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._counts = [0] * len(self.buckets)
        self._sum = 0.0
        self._count = 0

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            self._count += 1
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1
                    break

    @property
    def count(self) -> int:
        return self._count

    def render(self) -> list[str]:
        with self._lock:
            counts, total, n = list(self._counts), self._sum, self._count
        lines, running = [], 0
        for bound, c in zip(self.buckets, counts, strict=True):
            running += c
            lines.append(f'{self.name}_bucket{{le="{_fmt_value(bound)}"}} {running}')
        lines += [f"{self.name}_sum {_fmt_value(total)}", f"{self.name}_count {n}"]
        return lines


class AgentMetrics:
    """Every series the agent exports."""

    def __init__(self) -> None:
        self.calls_active = Gauge("voxops_agent_calls_active", "Calls up right now (pipeline and IVR).")
        self.capacity = Gauge("voxops_agent_capacity_calls", "Configured maximum concurrent calls.")
        self.calls_total = Counter(
            "voxops_agent_calls_total",
            "Incoming calls by outcome: answered (pipeline), ivr, rejected, failed.",
            ["result"],
        )
        self.rejected_total = Counter(
            "voxops_agent_rejected_total", "Incoming calls refused, by SIP response code.", ["code"]
        )
        self.rtcp_loss = Gauge(
            "voxops_agent_rtcp_loss_ratio", "Received packet loss of the call (0-1), from RTP/RTCP.", ["call"]
        )
        self.rtcp_jitter = Gauge(
            "voxops_agent_rtcp_jitter_seconds", "Interarrival jitter of the call's received RTP.", ["call"]
        )
        self.mos = Gauge("voxops_agent_mos", "MOS of the call by the ITU-T G.107 E-model.", ["call"])
        self.pipeline_latency = Histogram(
            "voxops_agent_pipeline_latency_seconds",
            "Time from caller audio into the pipeline to its answer audio out.",
            (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0),
        )
        self.ready = Gauge("voxops_agent_ready", "1 when /readyz answers 200.")
        self.draining = Gauge("voxops_agent_draining", "1 while draining after SIGTERM.")
        self.dependency_up = Gauge(
            "voxops_agent_dependency_up", "1 when the downstream dependency answers.", ["dependency", "kind"]
        )
        self.rtp_received_total = Counter(
            "voxops_agent_rtp_received_packets_total", "RTP packets received, counted when each call ends."
        )
        self.media_timeouts_total = Counter(
            "voxops_agent_media_timeouts_total", "Calls hung up because no RTP arrived for media_timeout_s."
        )
        self.ivr_callbacks_total = Counter(
            "voxops_agent_ivr_callbacks_total", "Callback requests stored by the IVR."
        )
        self.dtmf_total = Counter("voxops_agent_dtmf_total", "DTMF digits received, by method.", ["method"])
        self.setup_seconds = Histogram(
            "voxops_agent_setup_seconds",
            "From INVITE received to 200 OK sent.",
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
        self.response_latency = Histogram(
            "voxops_agent_response_latency_seconds",
            "Per turn: the caller's end of speech to the first voiced audio the agent plays back.",
            (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
        )
        self.bot_underruns_total = Counter(
            "voxops_agent_bot_underruns_total", "Gaps inside the bot's speech where no audio was there to play."
        )
        self.dead_air_total = Counter(
            "voxops_agent_dead_air_total", "Episodes of both sides silent longer than dead_air_s."
        )
        self.dead_air_seconds_total = Counter(
            "voxops_agent_dead_air_seconds_total", "Seconds of dead air (counted when each episode ends)."
        )
        self.barge_ins_total = Counter(
            "voxops_agent_barge_ins_total",
            "Caller speech starting while the bot plays, by whether the bot stopped within 1 s.",
            ["bot_stopped"],
        )
        self.bot_outcomes_total = Counter(
            "voxops_agent_bot_outcomes_total",
            "How websocket bot sessions ended: stop (caller hung up), closed (bot closed), "
            "connect_failed, silent, protocol_errors.",
            ["outcome"],
        )
        self.bot_bad_messages_total = Counter(
            "voxops_agent_bot_bad_messages_total", "Messages from the bot that broke the protocol (ignored)."
        )
        self.bot_dropped_audio_seconds_total = Counter(
            "voxops_agent_bot_dropped_audio_seconds_total", "Bot audio dropped because the jitter buffer was full."
        )
        self.bot_marks_total = Counter("voxops_agent_bot_marks_total", "Marks echoed back to the bot.")
        self.all: list[_Metric] = [v for v in vars(self).values() if isinstance(v, _Metric)]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self.all:
            lines += metric.header() + metric.render()
        return "\n".join(lines) + "\n"
