"""`voxops audio` as a use case: decode one call, write its WAV files and JSON summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from voxops.audio.call import SIDES, CallAudio, decode_call
from voxops.audio.conversation import Thresholds
from voxops.audio.report import AudioReport, build_report, safe_stem, stereo_channels, wav_bytes
from voxops.errors import EnvironmentProblem, ExitCode, InvalidInput


def _check_decoded(call: CallAudio, warn: Callable[[str], None]) -> str | None:
    """Warn about what could not be decoded; raise when nothing could. Returns a missing package."""
    missing = None
    for role in SIDES:
        audio = call.sides[role].audio
        for codec, why in audio.undecodable.items():
            warn(f"{role} audio in {codec} not decoded: {why}")
        missing = missing or audio.missing_library
    decoded = [r for r in SIDES if any(seg.codecs for seg in call.sides[r].audio.segments)]
    if decoded:
        return missing
    reasons = "; ".join(f"{c}: {w}" for r in SIDES for c, w in call.sides[r].audio.undecodable.items())
    if missing:
        raise EnvironmentProblem(f"call {call.call_id}: no audio could be decoded ({reasons})",
                                 hint=f"install the Debian package {missing}")
    raise InvalidInput(f"call {call.call_id}: no audio could be decoded ({reasons or 'no voice packets'})")


def _refuse_stdout(folder: Path) -> None:
    from voxops.output_file import is_stdout

    if is_stdout(folder):
        raise InvalidInput("-o -: voxops audio writes WAV files and a JSON summary into a folder",
                           hint="give a folder; --format json prints the summary on standard output")


def _make_folder(folder: Path) -> None:
    from voxops.output_file import output_error

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidInput(f"{folder}: is not a folder: voxops audio writes WAV files into a folder") from None
    except OSError as exc:
        raise output_error(folder, exc) from exc


def write_call_audio(pcap: Path, call_id: str, correlate: Sequence[str], folder: Path, *, stereo: bool,
                     limits: Thresholds, warn: Callable[[str], None]) -> tuple[AudioReport, int]:
    """Decode, write `<call>-caller.wav`, `<call>-agent.wav` (or `<call>-stereo.wav`) and
    `<call>-audio.json` into `folder`; the exit code is 3 when a codec library was missing."""
    from voxops.output_file import check_output, write_atomic

    _refuse_stdout(folder)
    call = decode_call(pcap, call_id, correlate, limits=limits, warn=warn)
    missing = _check_decoded(call, warn)
    stem = safe_stem(call.call_id)
    _make_folder(folder)
    files: dict[str, str] = {}
    if stereo:
        channels, rate = stereo_channels(call)
        files["stereo"] = str(folder / f"{stem}-stereo.wav")
        blobs = {files["stereo"]: wav_bytes(channels, rate)}
    else:
        blobs = {}
        for role in SIDES:
            audio = call.sides[role].audio
            if any(seg.codecs for seg in audio.segments):
                files[role] = str(folder / f"{stem}-{role}.wav")
                blobs[files[role]] = wav_bytes([audio.pcm], audio.rate)
    report = build_report(call, files, limits)
    summary = folder / f"{stem}-audio.json"
    blobs[str(summary)] = (report.model_dump_json(indent=2) + "\n").encode()
    for path in blobs:
        check_output(path)
    for path, data in blobs.items():
        write_atomic(path, data)
    return report, ExitCode.ENVIRONMENT if missing else ExitCode.OK
