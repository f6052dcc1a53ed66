"""Line diffs: a minimal edit script between two lists of lines, as git's Myers diff finds one.

rapidfuzz's Indel distance is the longest common subsequence, computed bit-parallel in C++: any
minimal insert/delete script has the same number of added and deleted lines as git's, so stats
agree with `git diff --numstat`. The common head and tail are stripped first (most edits are
small), which keeps the C++ part's memory at the size of the changed middle.
"""
from dataclasses import dataclass

from rapidfuzz.distance import Indel


@dataclass(frozen=True, slots=True)
class Op:
    """a[a0:a1] became b[b0:b1]. tag: "equal", or "change" (a0 == a1: pure insert;
    b0 == b1: pure delete)."""
    tag: str
    a0: int
    a1: int
    b0: int
    b1: int


def split_lines(data):
    """bytes -> lines split at b"\\n" only (as git splits; a lone CR stays inside its line), each
    keeping its newline (the last may lack one, as git shows it)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
        return [line + b"\n" for line in lines]
    return [line + b"\n" for line in lines[:-1]] + lines[-1:]


def diff_lines(a, b):
    """[Op] covering both sequences in order; a run of deletions and insertions between two equal
    runs is one "change" op (git prints its deletions first)."""
    n, m = len(a), len(b)
    head = 0
    while head < n and head < m and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < n - head and tail < m - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    ops = []
    if head:
        ops.append(Op("equal", 0, head, 0, head))
    mid_a, mid_b = a[head:n - tail], b[head:m - tail]
    if mid_a and mid_b:
        pending = None
        for op in Indel.opcodes(mid_a, mid_b):
            a0, a1, b0, b1 = op.src_start + head, op.src_end + head, op.dest_start + head, op.dest_end + head
            if op.tag == "equal":
                if pending:
                    ops.append(Op("change", *pending))
                    pending = None
                ops.append(Op("equal", a0, a1, b0, b1))
            elif pending is None:
                pending = [a0, a1, b0, b1]
            else:
                pending[1], pending[3] = a1, b1
        if pending:
            ops.append(Op("change", *pending))
    elif mid_a or mid_b:
        ops.append(Op("change", head, n - tail, head, m - tail))
    if tail:
        ops.append(Op("equal", n - tail, n, m - tail, m))
    return ops


def count_changes(ops):
    """(added, deleted) lines."""
    return (sum(op.b1 - op.b0 for op in ops if op.tag == "change"),
            sum(op.a1 - op.a0 for op in ops if op.tag == "change"))


__all__ = ["Op", "split_lines", "diff_lines", "count_changes"]
