"""Benchmark: rendering Codex answers (Markdown -> Telegram HTML chunks). Prints figures; not a test.

uv run python bench/telegram_render.py
"""

from __future__ import annotations

import statistics
import time

from codexgram.telegram.render import render_message


def answer(paragraphs: int) -> str:
    parts = []
    for i in range(paragraphs):
        parts.append(
            f"## Step {i}\n\nThe **change** in `module_{i}.py` fixes a <bug> & keeps *tests* green 😀."
        )
        parts.append(
            "```python\n" + "\n".join(f"def f_{i}_{j}(x):\n    return x < {j} and x & 1" for j in range(5))
        )
        parts[-1] += "\n```"
        parts.append("- first item\n- second item with a [link](https://example.org/a?b=1&c=2)\n  1. nested")
    return "\n\n".join(parts)


def measure(markdown: str, repeats: int) -> tuple[float, float, int]:
    timings = []
    result = render_message(markdown, max_chunks=1000)
    for _ in range(repeats):
        start = time.perf_counter()
        render_message(markdown, max_chunks=1000)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), max(timings), len(result.chunks)


def main() -> None:
    print(f"{'answer size':>12} {'chunks':>7} {'median ms':>10} {'max ms':>8} {'MB/s':>6}")
    for paragraphs, repeats in ((1, 200), (10, 50), (60, 10), (250, 3)):
        markdown = answer(paragraphs)
        median, worst, chunks = measure(markdown, repeats)
        size = len(markdown.encode())
        rate = size / median / 1e6
        print(f"{size:>10} B {chunks:>7} {median * 1000:>10.2f} {worst * 1000:>8.2f} {rate:>6.2f}")


if __name__ == "__main__":
    main()
