"""Where each service spends its CPU during the flat-out replay: `--profile DIR`.

py-spy samples every service process (and its workers) without pausing it, as issue 28's
part 5 asks before any cut; the folded stacks are kept in DIR (`<service>.txt`, one line a
stack, readable by flamegraph.pl or speedscope) and the functions holding most samples, by
their own time and with what they call, go into the result. Idle threads are not sampled,
so the shares are of the CPU a process used, not of the wall clock.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_PER_SECOND = 100
TOP = 25
# Our own packages' frames: the inclusive list keeps to them, since every sample also sits
# under uvicorn's, click's and asyncio's start-up frames, which say nothing.
OWN_FRAME = re.compile(r"\((attendance_shared|\w+_service)/")


@dataclass
class Profiler:
    folder: Path
    pids: dict[str, int]
    _running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        for service, pid in self.pids.items():
            command = [
                str(spy), "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--format", "raw",
                "--rate", str(SAMPLES_PER_SECOND), "--function", "--output", str(self.folder / f"{service}.txt"),
            ]  # fmt: skip
            self._running[service] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> dict[str, object]:
        """Stop sampling (py-spy writes its file on SIGINT) and summarise each service."""
        for process in self._running.values():
            process.send_signal(signal.SIGINT)
        summary: dict[str, object] = {"folder": str(self.folder)}
        for service, process in self._running.items():
            _, errors = process.communicate(timeout=60)
            folded = self.folder / f"{service}.txt"
            if not folded.exists():
                summary[service] = {"error": errors.decode(errors="replace").strip()[-500:]}
                continue
            summary[service] = top_functions(folded.read_text())
        self._running.clear()
        return summary


def top_functions(folded: str, top: int = TOP) -> dict[str, object]:
    """The functions holding most samples in py-spy's folded stacks (`a;b;c 12` per line):
    by their own time (the stack's last frame), and ours by their total (anywhere on the
    stack, counted once a sample)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        # The first frame is the process (and thread) py-spy names, not a function.
        frames = [f for f in frames[1:] if f] if frames and frames[0].startswith("process ") else frames
        if not frames:
            continue
        samples += n
        own[frames[-1]] += n
        for name in {f for f in frames if OWN_FRAME.search(f)}:
            total[name] += n

    def shares(counter: Counter[str]) -> list[list[object]]:
        return [[name, round(n / samples, 4)] for name, n in counter.most_common(top)]

    return {"samples": samples, "own": shares(own), "total": shares(total)} if samples else {"samples": 0}


def print_profile(summary: dict[str, object], top: int = 12) -> None:
    print(f"\nprofile (py-spy folded stacks in {summary['folder']}):")
    for service, figures in summary.items():
        if service == "folder" or not isinstance(figures, dict):
            continue
        if "error" in figures:
            print(f"  {service}: py-spy failed: {figures['error']}")
            continue
        print(f"  {service}: {figures['samples']:,} samples; own time")
        for name, share in figures.get("own", [])[:top]:
            print(f"    {share:6.1%}  {name}")
