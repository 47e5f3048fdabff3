"""Peak resident memory of a process and all its descendants (workers, Tesseract), sampled from
/proc; used by bench/robustness.py and bench/ocr_speed.py --memory."""
from __future__ import annotations

import os
import threading
import time


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss(root: int) -> int:
    """Bytes resident in ``root`` and its descendants right now."""
    return sum(_rss(pid) for pid in tree(root))


def tree(*roots: int) -> list[int]:
    """``roots`` and their live descendants (each once)."""
    out, todo, seen = [], list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        todo += _children(pid)
    return out


class PeakSampler:
    """``with PeakSampler(pid) as s: ...; s.peak`` — the largest tree RSS seen, every ``every`` s."""

    def __init__(self, root: int | None = None, every: float = 0.02) -> None:
        self.root = root or os.getpid()
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.root))
            time.sleep(self.every)

    def __enter__(self) -> "PeakSampler":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, tree_rss(self.root))
