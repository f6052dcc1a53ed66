"""Landing pushes: one transaction, compare-and-swap, atomic, connectivity, HEAD."""
from repos.store.packformat import ZERO_OID
from tests.repos.store.helpers import mirror, pack_of, push, refs_of
from tests.support.gitcli import out


def rev(repo, what):
    return bytes.fromhex(out("-C", repo, "rev-parse", what).strip())


def test_stale_old_value_is_refused_and_nothing_is_stored(store, tmp_path, history):
    base = rev(history, "main~10")
    push(store, tmp_path, pack_of(history, "main~10"), {"refs/heads/main": (None, base)})
    before = store.stats()
    # A push that believes main is still at main~11 loses the compare-and-swap.
    outcome = push(store, tmp_path, pack_of(history, "main", "^main~10"),
                   {"refs/heads/main": (rev(history, "main~11"), rev(history, "main"))})
    assert "fetch first" in outcome.updates[0].error
    assert store.stats() == before
    assert store.ref("refs/heads/main") == base


def test_atomic_push_moves_all_refs_or_none(store, tmp_path, history):
    main = rev(history, "main")
    push(store, tmp_path, pack_of(history, "main"), {"refs/heads/main": (None, main)})
    before = store.stats()
    outcome = push(store, tmp_path, None, {
        "refs/heads/a": (None, main),
        "refs/heads/main": (rev(history, "main~1"), main),   # stale: refused
    }, atomic=True)
    assert all(u.error for u in outcome.updates)
    assert store.ref("refs/heads/a") is None and store.stats() == before
    # The same without --atomic: the good update goes through.
    outcome = push(store, tmp_path, None, {"refs/heads/a": (None, main), "refs/heads/main": (rev(history, "main~1"), main)})
    assert [u.error is None for u in outcome.updates] == [True, False]
    assert store.ref("refs/heads/a") == main


def test_ref_to_a_missing_object_is_refused(store, tmp_path, history):
    outcome = push(store, tmp_path, None, {"refs/heads/main": (None, rev(history, "main"))})
    assert "missing" in outcome.updates[0].error
    assert store.is_empty()


def test_pack_missing_a_parent_is_refused_whole(store, tmp_path, history):
    # Only the newest commit's objects, as a shallow client might send: its parent is nowhere.
    outcome = push(store, tmp_path, pack_of(history, "main", "^main~1"), {"refs/heads/main": (None, rev(history, "main"))})
    assert "missing necessary objects" in outcome.updates[0].error
    assert store.stats()["packs"] == 0


def test_delete_and_first_branch_becomes_head(store, tmp_path, history):
    feature = next(n for n in refs_of(history) if n.startswith("refs/heads/feature/"))
    oid = refs_of(history)[feature]
    outcome = push(store, tmp_path, pack_of(history, feature), {feature: (None, oid)})
    assert outcome.new_head == feature and store.head_ref() == feature
    outcome = push(store, tmp_path, None, {feature: (oid, ZERO_OID)})
    assert outcome.updates[0].error is None and store.ref(feature) is None
    assert not store.is_clean()   # the deleted branch's objects may be unreachable now


def test_tags_are_stored_with_peeled_values(store, tmp_path, history):
    refs = mirror(store, tmp_path, history)
    peeled = dict(line.split(" ")[::-1] for line in out("-C", history, "show-ref", "--tags", "-d").splitlines())
    for name, oid, stored_peeled in store.refs():
        if name.startswith("refs/tags/"):
            assert oid == refs[name]
            expected = peeled.get(name + "^{}")
            assert (stored_peeled.hex() if stored_peeled else None) == expected



def test_a_ref_cannot_be_both_a_name_and_a_directory(store, tmp_path, history):
    """As in git: refs/heads/a and refs/heads/a/b cannot both exist, whichever comes first, and
    not within one push either."""
    main = rev(history, "main")
    push(store, tmp_path, pack_of(history, "main"), {"refs/heads/topic/one": (None, main)})
    outcome = push(store, tmp_path, None, {"refs/heads/topic": (None, main)})
    assert "refs/heads/topic/one' exists" in outcome.updates[0].error
    outcome = push(store, tmp_path, None, {"refs/heads/topic/one/deeper": (None, main)})
    assert "'refs/heads/topic/one' exists" in outcome.updates[0].error
    outcome = push(store, tmp_path, None, {"refs/heads/x": (None, main), "refs/heads/x/y": (None, main)})
    assert all(u.error for u in outcome.updates)
    assert store.ref("refs/heads/topic") is None and store.ref("refs/heads/x") is None
    # Unrelated names that only share a beginning are fine.
    outcome = push(store, tmp_path, None, {"refs/heads/topic-2": (None, main), "refs/heads/topic.b": (None, main)})
    assert [u.error for u in outcome.updates] == [None, None]
