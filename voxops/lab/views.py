"""Text views of the lab's results (JSON is the models dumped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxops.lab.report import render_text

if TYPE_CHECKING:
    from voxops.lab.demo import DemoReport
    from voxops.lab.sipp import CallBatch
    from voxops.lab.stack import LabStatus


def print_status(st: LabStatus) -> None:
    if not st.up:
        print(f"no lab is up in {st.run_dir}")
        return
    print(f"lab up from {st.spec} (SBC: {st.sbc}), run directory {st.run_dir}")
    for p in st.processes:
        where = f"{p.address}:{p.port}" if p.address else "-"
        state = f"pid {p.pid}" if p.running else "STOPPED"
        mode = f" [{p.mode}]" if p.mode else ""
        print(f"  {p.role:<8} {p.name:<16} {where:<18} {state}{mode}")
    if st.capture:
        print(f"  capture: {st.capture}")


def print_calls(b: CallBatch) -> None:
    codes = ", ".join(f"{k}: {v}" for k, v in b.codes.items())
    print(f"{b.placed} call(s) via {b.target}: {b.answered} answered, {b.busy} busy (486), {b.failed} failed [{codes}] in {b.ended - b.started:.1f} s")


def print_demo(r: DemoReport) -> None:
    print_status(r.lab)
    print_calls(r.calls)
    print(render_text(r.drill), end="")
    print(f"lab demo: {'PASSED' if r.passed else 'FAILED'}; lab capture: {r.capture}")
