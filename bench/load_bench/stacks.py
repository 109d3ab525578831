"""Total py-spy's collapsed stacks by function: where a worker's time goes.

    python bench/load_bench/stacks.py profile/worker-n500.txt [--top 40] [--match ringround]

Prints, for each function, the share of samples in which it is on the stack (inclusive) and
at the top (self), so 'what the profile says is left' can be read without a flamegraph."""

import argparse
import re
from collections import Counter

SITE = re.compile(r" \(.*?/(site-packages|src)/")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only frames whose text contains this")
    args = parser.parse_args()
    inclusive, own, total = Counter(), Counter(), 0
    idle = 0
    for line in open(args.file):
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [SITE.sub(" (", f) for f in stack.split(";")]
        if any(k in frames[-1] for k in ("wait (threading", "select (", "poll (", "accept (")):
            idle += n
        total += n
        for frame in set(frames):
            if args.match in frame:
                inclusive[frame] += n
        if args.match in frames[-1]:
            own[frames[-1]] += n
    print(f"{total} samples, {100 * idle / max(total, 1):.0f}% idle (waiting for work)")
    print("\ninclusive (on the stack):")
    for frame, n in inclusive.most_common(args.top):
        print(f"{100 * n / total:6.1f}%  {frame}")
    print("\nself (at the top):")
    for frame, n in own.most_common(args.top):
        print(f"{100 * n / total:6.1f}%  {frame}")


if __name__ == "__main__":
    main()
