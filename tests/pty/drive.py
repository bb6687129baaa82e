#!/usr/bin/env python3
"""Runs a command at a real pseudo-terminal and plays a script against it.

    drive.py --timeout SECONDS --script JSON -- COMMAND [ARG...]

The script is a JSON list of steps:

    ["expect", TEXT]   wait until TEXT has appeared in the output (since the
                       previous expect)
    ["send", TEXT]     type TEXT (use "\\n" for Enter, "\\u0003" for Ctrl-C)
    ["sleep", SECONDS] wait
    ["send_file", PATH] wait until the file PATH exists and is not empty, then
                       type its contents and Enter (for text another thread
                       of the test makes meanwhile)
    ["screen", TEXT]   wait until TEXT is shown on the emulated screen, then
                       record the screen (needs --screens)

With --screens FILE, everything the command writes is also played on an
emulated terminal of 120 x 50 cells (pyte, from tests/pty/requirements.txt),
the size the pseudo-terminal reports too; the screens recorded by "screen"
steps are written to FILE as a JSON list, each a list of its lines (trailing
spaces removed): what a person would have seen, after every escape
sequence, carriage return and backspace has done its work.

The command's stdin, stdout and stderr are the terminal, as for a person at
a keyboard (so a program that opens /dev/tty gets this terminal too). The
whole transcript is printed on stdout when the command ends; the exit status
is the command's (128 + N for signal N), or 124 when a step or the command
timed out (the command is killed).
"""

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

COLUMNS, LINES = 120, 50


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--script", default="[]")
    parser.add_argument("--screens", default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    steps = json.loads(args.script)
    deadline = time.monotonic() + args.timeout

    screen = stream = None
    screens = []
    if args.screens:
        import pyte

        screen = pyte.Screen(COLUMNS, LINES)
        stream = pyte.ByteStream(screen)

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))

    def shown():
        return [line.rstrip() for line in screen.display]

    transcript = bytearray()
    seen = 0  # where the next `expect` starts looking

    def pump(wait):
        """Reads what the command wrote within `wait` seconds; False at EOF."""
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        transcript.extend(data)
        if stream is not None:
            stream.feed(data)
        return True

    def finish(status):
        if args.screens:
            with open(args.screens, "w") as f:
                json.dump(screens, f)
        sys.stdout.write(transcript.decode("utf-8", "replace"))
        sys.stdout.flush()
        sys.exit(status)

    def timed_out(what):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        transcript.extend(("\n[drive.py: timed out %s]\n" % what).encode())
        finish(124)

    alive = True
    for step in steps:
        kind, value = step[0], step[1]
        if kind == "expect":
            needle = value.encode()
            while transcript.find(needle, seen) < 0:
                if time.monotonic() > deadline:
                    timed_out("waiting for %r" % value)
                if not alive:
                    transcript.extend(b"\n[drive.py: ended before %r]\n" % needle)
                    break
                alive = pump(0.05)
            found = transcript.find(needle, seen)
            if found >= 0:
                seen = found + len(needle)
        elif kind == "screen":
            if screen is None:
                raise SystemExit("a screen step needs --screens")
            while not any(value in line for line in shown()):
                if time.monotonic() > deadline:
                    screens.append(shown())
                    timed_out("waiting for %r on the screen" % value)
                if not alive:
                    transcript.extend(b"\n[drive.py: ended before %r]\n" % value.encode())
                    break
                alive = pump(0.05)
            # Whatever else arrives at once belongs to the same screen.
            if alive:
                alive = pump(0.2)
            screens.append(shown())
        elif kind == "send":
            os.write(fd, value.encode())
        elif kind == "send_file":
            while not (os.path.exists(value) and os.path.getsize(value) > 0):
                if time.monotonic() > deadline:
                    timed_out("waiting for the file %s" % value)
                if alive:
                    alive = pump(0.05)
                else:
                    time.sleep(0.05)
            with open(value, "rb") as f:
                os.write(fd, f.read().strip() + b"\n")
        elif kind == "sleep":
            end = time.monotonic() + float(value)
            while alive and time.monotonic() < end:
                alive = pump(0.05)
        else:
            raise SystemExit("unknown step %r" % kind)

    while alive:
        if time.monotonic() > deadline:
            timed_out("waiting for the command to end")
        alive = pump(0.05)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            timed_out("waiting for the command to exit")
        time.sleep(0.02)
    if os.WIFSIGNALED(status):
        finish(128 + os.WTERMSIG(status))
    finish(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
