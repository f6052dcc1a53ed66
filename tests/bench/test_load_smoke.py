"""bench/load.py cannot rot: a few seconds of it with three virtual users, exactly as the real run
(its own gunicorn Forge, real git clones, fetches and pushes, pages and API calls), must end with
exit 0, no error, every accepted push on the server and the figures written where it is told.
No timing is asserted: the figures are the bench's business."""
import json
import subprocess
import sys

from tests.support.sources import ROOT, make_test_repo


def test_a_short_load_run_has_no_error_and_loses_no_push(tmp_path):
    source = make_test_repo(tmp_path / "source.git", 150)  # the suite's cached repository of 150 commits
    out_json, out_md = tmp_path / "load.json", tmp_path / "LOAD.md"
    results = ROOT / "bench" / "results"
    before = set(results.iterdir()) if results.exists() else set()

    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--duration", "5", "--clients", "3",
         "--source", str(source), "--reference-clones", "1", "--json", str(out_json), "--markdown", str(out_md)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(out_json.read_text())
    assert result["totals"]["errors"] == 0
    assert result["totals"]["operations"] >= 6  # every user opens with a push to its branch and one to main
    check = result["push_check"]
    assert check["accepted"] >= 6 and check["lost"] == [] and check["fsck_ok"]
    assert result["write_check"]["lost"] == []  # every issue and comment created under load reads back
    assert result["server_log"]["tracebacks"] == 0
    ops = {row["op"]: row for row in result["operations"]}
    assert ops["git:push-branch"]["count"] >= 3 and ops["git:push-shared"]["count"] >= 3
    assert ops["all"]["count"] == result["totals"]["operations"] == len(result["samples"])
    assert result["reference_clones"]["runs"] == 1
    assert "| operation | count | errors |" in out_md.read_text()
    assert (set(results.iterdir()) if results.exists() else set()) == before  # nothing written to bench/results
