"""provenance: the stamp of a measured figure (commit, CPU, cores, load), never an exception."""

from __future__ import annotations

import re

from emergence_laws.provenance import cpu_model, git_commit, stamp


def test_stamp_names_the_commit_cpu_and_load(tmp_path):
    s = stamp()
    assert set(s) == {"commit", "cpu", "cpus", "load_1min", "python"}
    assert s["cpu"] == cpu_model() and s["cpu"].strip()
    assert s["commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{7,}", s["commit"])  # a clone without git history
    assert git_commit(tmp_path) == "unknown"  # not a checkout: said, not raised
    assert git_commit(tmp_path, dirty_under="src") == "unknown"
