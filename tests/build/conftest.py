"""The ``toy`` spec shared by the build tests: a small valid store whose files a test can break."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import narrowpeak_row, write_bigwig, write_fasta, write_gz

LENGTHS = {"chrA": 30_000, "chrB": 12_000}


@pytest.fixture
def toy(tmp_path: Path) -> dict:
    """A small, valid spec whose files each test can break."""
    d = tmp_path / "in"
    d.mkdir()
    cons = "".join(narrowpeak_row("chrA", s, s + 240) for s in (1000, 5000, 20_000))
    rel = cons + narrowpeak_row("chrB", 3000, 3400)
    spec = {
        "genome": {"fasta": str(write_fasta(d / "g.fa", LENGTHS))},
        "blacklist": [str(write_gz(d / "bl.bed.gz", "chrA\t29000\t30000\n"))],
        "cells": {
            "X": {
                "tracks": {"DNase": str(write_bigwig(d / "x.bw", LENGTHS))},
                "metadata": str(d / "meta.txt"),
            }
        },
        "labels": [
            {
                "tf": "CTCF",
                "cell": "X",
                "conservative": str(write_gz(d / "c.np.gz", cons)),
                "relaxed": str(write_gz(d / "r.np.gz", rel)),
            }
        ],
        "annotations": {"cpg": str(write_gz(d / "cpg.bed.gz", "chrA\t900\t1300\nchr1\t5\t10\n"))},
        "chunks": {"positions": 8192, "bins": 128},
    }
    (d / "meta.txt").write_text("0.5\tGEPC1\n-0.25\tGEPC2\n")
    return spec
