"""Regenerate fnstore/motifs/JASPAR2026_CORE_vertebrates.meme from pyjaspar.

    pip install pyjaspar && python scripts/make_jaspar_meme.py

JASPAR is CC BY 4.0 (https://jaspar.elixir.no/faq/): shipping its matrices with fnstore
lets ``--motif auto`` find a TF's motif without a download. One motif per matrix ID (the
latest version), CORE collection, vertebrates; probabilities from the counts with a
pseudocount of 0.8 spread over the four bases (the JASPAR web site's default for PWMs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from fnstore.io.meme import Motif, write_meme

OUT = Path(__file__).resolve().parents[1] / "fnstore" / "motifs"
RELEASE = "JASPAR2026"
PSEUDOCOUNT = 0.8


def main() -> int:
    """Fetch the release and write the MEME file; returns the exit status."""
    from pyjaspar import jaspardb

    db = jaspardb(release=RELEASE)
    motifs = []
    for m in db.fetch_motifs(collection="CORE", tax_group=["vertebrates"]):
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64).T
        probs = (counts + PSEUDOCOUNT / 4) / (counts.sum(1, keepdims=True) + PSEUDOCOUNT)
        motifs.append(
            Motif(
                name=f"{m.matrix_id}",
                alt_name=m.name.upper(),
                pwm=probs,
                nsites=float(counts.sum(1).max()),
                url=f"https://jaspar.elixir.no/matrix/{m.matrix_id}/",
            )
        )
    path = OUT / f"{RELEASE}_CORE_vertebrates.meme"
    write_meme(path, motifs)
    print(f"wrote {len(motifs)} motifs to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
