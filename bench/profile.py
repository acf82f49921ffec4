"""Where the worker's time goes: py-spy's collapsed stacks, summed by frame.

``bench.run --profile`` records each measured phase's worker with py-spy (``--nonblocking``:
it never pauses the worker) into ``bench/results/profile-<phase>-<mode>.txt``, one line per
distinct stack with its sample count, a format flame-graph tools and speedscope read.
``python -m bench.profile FILE`` prints the frames holding the most samples.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

PROFILE_RATE_HZ = 100
TOP_FRAMES = 25


def start(pid: int, output: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).parent / "py-spy"
    command = [str(py_spy), "record", "--pid", str(pid), "--rate", str(PROFILE_RATE_HZ)]
    # --gil: only the thread holding the GIL is sampled, so idle pool threads and the
    # event loop's select() do not drown the Python work being looked for.
    command += ["--format", "raw", "--output", str(output), "--nonblocking", "--gil"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def inclusive(lines: list[str]) -> tuple[Counter[str], int]:
    """Samples per frame (a frame counted once per stack it appears in), and the total."""
    frames: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        for frame in set(stack.split(";")):
            frames[frame] += count
    return frames, total


def summary(path: Path, top: int = TOP_FRAMES) -> str:
    frames, total = inclusive(path.read_text().splitlines())
    lines = [f"{path.name}: {total} samples"]
    for frame, count in frames.most_common(top):
        lines.append(f"{count / max(total, 1):6.1%}  {frame}")
    return "\n".join(lines)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(summary(Path(name)))
