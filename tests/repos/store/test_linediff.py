"""Line diffs: every script is complete, correct and minimal (so stats agree with git's)."""
import random

from rapidfuzz.distance import Indel

from repos.store.linediff import count_changes, diff_lines, split_lines


def test_split_lines_splits_at_lf_only():
    assert split_lines(b"") == []
    assert split_lines(b"a\n") == [b"a\n"]
    assert split_lines(b"a\nb") == [b"a\n", b"b"]
    assert split_lines(b"a\rb\r\nc\n") == [b"a\rb\r\n", b"c\n"]


def test_random_edits_give_complete_minimal_scripts():
    rng = random.Random(3)
    for _ in range(3000):
        a = [rng.choice(b"abcde") for _ in range(rng.randrange(0, 30))]
        b = list(a)
        for _ in range(rng.randrange(0, 6)):
            i = rng.randrange(len(b) + 1)
            r = rng.random()
            if r < 0.3 and b:
                b.pop(min(i, len(b) - 1))
            elif r < 0.6:
                b.insert(i, rng.choice(b"abcdef"))
            elif b:
                b[min(i, len(b) - 1)] = rng.choice(b"xyz")
        ops = diff_lines(a, b)
        at = bt = 0
        rebuilt = []
        for op in ops:
            assert (op.a0, op.b0) == (at, bt)
            if op.tag == "equal":
                assert a[op.a0:op.a1] == b[op.b0:op.b1]
            rebuilt += b[op.b0:op.b1]
            at, bt = op.a1, op.b1
        assert (at, bt) == (len(a), len(b)) and rebuilt == b
        assert sum(count_changes(ops)) == Indel.distance(a, b)
        assert not any(x.tag == y.tag == "change" for x, y in zip(ops, ops[1:]))
