"""Run a command with a wall-clock limit, so that a check can fail but never hang.

    python scripts/with_limit.py 1800 -- python -m pytest ...

The command runs in a process group of its own; past the limit the whole group (the command, the
Jupyter kernels it started, their workers) is sent SIGTERM, then SIGKILL 30 seconds later, and this
script exits 124 (as coreutils' `timeout`, which macOS lacks) after one line saying what ran too long.
Otherwise it exits with the command's own status. Stopped itself (SIGTERM, SIGHUP, Ctrl-C), it stops
the group too, so nothing it started runs on.
"""
import os
import signal
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python scripts/with_limit.py SECONDS -- command [args...]", file=sys.stderr)
        return 2
    try:
        limit = float(argv[0])
    except ValueError:
        print(f"with_limit: expected a number of seconds, got {argv[0]!r}", file=sys.stderr)
        return 2
    process = subprocess.Popen(argv[2:], start_new_session=True)

    def stop_group(signum, frame):  # killed itself (make interrupted, CI cancelled): take the group along
        os.killpg(process.pid, signal.SIGTERM)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_group)
    signal.signal(signal.SIGHUP, stop_group)
    try:
        return process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        print(f"with_limit: stopped after {limit:g} s, a hang or a far slower machine: {' '.join(argv[2:])[:200]}",
              file=sys.stderr)
        return 124
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGINT)
        return process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
