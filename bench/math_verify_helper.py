"""Side-by-side half of bench/math_verify.ts: scores answer pairs with Hugging Face `math-verify`.

Reads JSON Lines from stdin, one pair a line: {"candidate": "<model output>", "reference": "<gold>"}.
For each pair it runs what a grader does: ``verify(parse(reference), parse(candidate))`` with the
package defaults (LaTeX + expression extraction, 5 s timeouts). After a warm-up over the first
``warmup`` pairs (argv[1], default 20), the whole list is timed with ``time.perf_counter`` (imports and
interpreter start-up excluded, like the TypeScript side). Prints one JSON object:
{"verdicts": [bool, ...], "seconds": float, "version": str}.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import time

from math_verify import parse, verify


def score(candidate: str, reference: str) -> bool:
    """True when math-verify finds the candidate equivalent to the reference."""
    return bool(verify(parse(reference), parse(candidate)))


def main() -> None:
    warmup = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    pairs = [json.loads(line) for line in sys.stdin if line.strip()]
    for p in pairs[:warmup]:
        score(p["candidate"], p["reference"])
    start = time.perf_counter()
    verdicts = [score(p["candidate"], p["reference"]) for p in pairs]
    seconds = time.perf_counter() - start
    version = importlib.metadata.version("math-verify")
    json.dump({"verdicts": verdicts, "seconds": seconds, "version": version}, sys.stdout)


if __name__ == "__main__":
    main()
