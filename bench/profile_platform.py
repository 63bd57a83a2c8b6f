"""Profile every process of the platform, idle and under the lifecycle load (issue 10).

Starts ``ring run`` on fresh data (as ``bench/lifecycle.py`` does), then:

1. **idle CPU**: CPU seconds per process over ``--idle-seconds`` with nothing to do, from
   ``/proc`` (no profiler attached; this figure does not depend on the machine's load);
2. **idle profile**: ``py-spy record --format raw`` of every service for the same time;
3. **load profile**: the same while ``bench/lifecycle.py``'s clients drive full lifecycles,
   with the lifecycle figures (CPU per lifecycle per process) printed as that bench prints them.

Each profile is kept as ``--out/<phase>-<service>.raw`` (py-spy's collapsed stacks; not
committed) and summarised into ``--out/<phase>-<service>.txt``: the top frames by *self*
samples (the frame on top of the stack) and by *total* samples (anywhere on the stack). py-spy
samples only threads that are running (not waiting), so the samples are the busy time.

    RING_PORT_OFFSET=6000 OTEL_SDK_DISABLED=true .venv/bin/python bench/profile_platform.py \
        --lifecycles 120 --clients 16 --out bench/profiles/after

py-spy comes with the dev dependencies (``uv sync``); ``--py-spy`` points at another binary.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import lifecycle  # the sibling bench script, imported from its folder

from ring_runtime.testing import served_by

TOP = 20

#: Packages whose samples are telemetry's cost (spans, metrics, their exporters): their share of
#: a process's busy samples is the CPU telemetry takes, a figure the machine's load does not move.
TELEMETRY = ("opentelemetry/", "prometheus_client/")

#: Frames under which every sample of a thread runs (process start, the event loop, the
#: thread pool's loop): left out of the *total* ranking, where they would fill the top.
ENTRY_FRAMES = ("runpy", "click/", "uvicorn/", "asyncio/runners", "threading.py", "commands/serve")


def services(root: int) -> dict[str, int]:
    """PID of every service process under ``root`` (``ring run``), by service name: started as
    a program or forked by ``ring run``'s fork server (``served_by`` tells both apart)."""
    tree = lifecycle._children()
    found: dict[str, int] = {}

    def walk(pid: int) -> None:
        name = served_by(pid)
        if name is not None:
            found[name] = pid
            return
        for child in tree.get(pid, []):
            walk(child)

    walk(root)
    return found


def record(py_spy: str, pids: dict[str, int], seconds: int, rate: int, out: Path, phase: str):
    """Start one ``py-spy record`` per service; returns the running recorders."""
    out.mkdir(parents=True, exist_ok=True)
    return {
        name: subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--nonblocking",
                "--threads",
                "--output",
                str(out / f"{phase}-{name}.raw"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    }


def _frame(frame: str) -> str:
    """``function (path/to/module.py:line)`` without the line and the site-packages prefix."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarise(raw: Path, seconds: float) -> str:
    """Top frames by self and by total samples of one raw py-spy profile."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = telemetry = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        threads[frames[0].split(" (")[0]] += count  # --threads puts the thread first
        calls = [_frame(f) for f in frames[1:]] or ["?"]
        own[calls[-1]] += count
        if any(package in frame for frame in frames for package in TELEMETRY):
            telemetry += count
        for call in set(calls):
            if not any(entry in call for entry in ENTRY_FRAMES):
                total[call] += count
    share = 100 * telemetry / max(samples, 1)
    lines = [
        f"{raw.stem}: {samples} busy samples in {seconds:.0f} s",
        f"telemetry (a frame of {', '.join(TELEMETRY)} on the stack): {telemetry} ({share:.1f} %)",
        "",
        "threads:",
    ]
    lines += [f"  {n:6d} {100 * n / max(samples, 1):5.1f} %  {t}" for t, n in threads.most_common()]
    lines += ["", f"top {TOP} self:"]
    lines += [f"  {n:6d} {100 * n / max(samples, 1):5.1f} %  {f}" for f, n in own.most_common(TOP)]
    lines += ["", f"top {TOP} total:"]
    lines += [
        f"  {n:6d} {100 * n / max(samples, 1):5.1f} %  {f}" for f, n in total.most_common(TOP)
    ]
    return "\n".join(lines) + "\n"


def finish(recorders: dict[str, subprocess.Popen[bytes]], out: Path, phase: str, seconds: float):
    """Wait for the recorders, write the summaries, print the busy samples per service."""
    for name, recorder in recorders.items():
        try:
            recorder.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:  # seen on a starved machine: lose that profile only
            recorder.kill()
            lifecycle.say(f"{phase}: py-spy did not finish for {name}")
            continue
        raw = out / f"{phase}-{name}.raw"
        if raw.exists():
            (out / f"{phase}-{name}.txt").write_text(summarise(raw, seconds))
        else:
            lifecycle.say(f"{phase}: no profile of {name}")


def idle_cpu(root: int, seconds: float) -> dict[str, float]:
    """CPU milliseconds per second of every process while the platform idles."""
    before = lifecycle.cpu_by_process(root)
    time.sleep(seconds)
    after = lifecycle.cpu_by_process(root)
    return {k: 1000 * (after.get(k, 0.0) - before.get(k, 0.0)) / seconds for k in after}


def main() -> None:
    """Parse the options, run the three phases, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifecycles", type=int, default=120)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--load-seconds", type=int, default=60, help="profile length under load")
    parser.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path("bench/profiles"))
    parser.add_argument("--py-spy", default=str(lifecycle.BIN / "py-spy"))
    parser.add_argument("--no-profile", action="store_true", help="figures only")
    parser.add_argument("--idle-only", action="store_true", help="no lifecycle load")
    args = parser.parse_args()
    args.wait, args.poll_ms, args.wait_seconds = "long-poll", 50, 30.0
    lifecycle.say("starting the platform (ring run)…")
    with lifecycle.own_platform() as (root, env):
        time.sleep(10)  # start-up catch-up and first timer rounds are not idle work
        pids = services(root)
        idle = idle_cpu(root, args.idle_seconds)
        print(f"idle CPU ms per second over {args.idle_seconds} s:")
        for name, ms in sorted(idle.items(), key=lambda item: -item[1]):
            print(f"  {name:14s} {ms:6.1f}")
        print(f"  {'total':14s} {sum(idle.values()):6.1f}")
        if not args.no_profile:
            recorders = record(args.py_spy, pids, args.idle_seconds, args.rate, args.out, "idle")
            finish(recorders, args.out, "idle", args.idle_seconds)
        if args.idle_only:
            return
        recorders: dict[str, subprocess.Popen[bytes]] = {}

        def profile_load() -> None:
            if not args.no_profile:
                phase = "load"
                recorders.update(
                    record(args.py_spy, pids, args.load_seconds, args.rate, args.out, phase)
                )

        figures = asyncio.run(lifecycle.measure(args, root, env, on_start=profile_load))
        if not args.no_profile:
            finish(recorders, args.out, "load", args.load_seconds)
    print(lifecycle.report(args, figures))


if __name__ == "__main__":
    main()
