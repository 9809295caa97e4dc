"""The effect table on disk, written batch by batch and resumable, then assembled atomically.

Batch ``i``'s rows go to ``OUT.parts/part-<i>.parquet`` (each part written atomically, so
a part that exists is whole); ``OUT.parts/run.json`` records what the run depends on
(model, store, cell, variant file, batch size...). A killed run leaves the parts folder and
no ``OUT``; ``--resume`` with the same settings scores only the missing batches. When all
parts exist they are streamed, in batch order, into ``OUT`` through a temporary name (TSV,
gzip TSV or Parquet by its suffix), and the parts folder is removed: ``OUT`` appears whole
or not at all, and the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fnstore.errors import InputError
from fnstore.io.files import atomic_gzip, atomic_path, atomic_write

#: output suffix -> format
FORMATS = {".tsv.gz": "tsv.gz", ".tsv": "tsv", ".parquet": "parquet"}
RUN_FILE = "run.json"


def table_format(out: str | Path) -> str:
    """The table format named by ``out``'s suffix.

    Parameters
    ----------
    out : str or pathlib.Path
        The output file.

    Returns
    -------
    str
        ``"tsv"``, ``"tsv.gz"`` or ``"parquet"``.

    Raises
    ------
    InputError
        For any other suffix.
    """
    name = Path(out).name.lower()
    for suffix, kind in FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise InputError(out, f"output must end in {', '.join(FORMATS)}")


class PartsWriter:
    """Batch parts of one effect table, and their assembly into the final file.

    Parameters
    ----------
    out : pathlib.Path
        The final table.
    record : Mapping
        What a resumed run must share with the interrupted one.
    resume, overwrite : bool
        Continue an interrupted run's parts; replace an existing table or parts.
    """

    def __init__(self, out: Path, record: Mapping[str, Any], resume: bool, overwrite: bool):
        self.out = out
        self.kind = table_format(out)
        self.parts = out.with_name(out.name + ".parts")
        run_file = self.parts / RUN_FILE
        if self.parts.exists():
            own = run_file.is_file()
            if resume and own:
                if json.loads(run_file.read_text()) != json.loads(json.dumps(record)):
                    raise InputError(
                        self.parts,
                        "was written by a run with other settings (model, store, cell, "
                        "variants or batch size): use --overwrite to start again",
                    )
                return
            if not own:
                raise InputError(self.parts, "exists and is not an fnstore variants run")
            if not overwrite:
                raise InputError(
                    self.parts,
                    "an interrupted run: use --resume to continue it or --overwrite to start again",
                )
            shutil.rmtree(self.parts)
        if out.exists() and not overwrite:
            raise InputError(out, "already exists: use --overwrite to replace it")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir()
        with atomic_write(run_file) as fh:
            json.dump(record, fh, indent=1, sort_keys=True)

    def part(self, index: int) -> Path:
        """Path of batch ``index``'s part.

        Parameters
        ----------
        index : int
            Batch number, from 0.

        Returns
        -------
        pathlib.Path
            ``OUT.parts/part-<index>.parquet``.
        """
        return self.parts / f"part-{index:07d}.parquet"

    def done(self, index: int) -> bool:
        """Whether batch ``index`` is already written.

        Parameters
        ----------
        index : int
            Batch number.

        Returns
        -------
        bool
            True when its part exists (parts are written atomically).
        """
        return self.part(index).exists()

    def write(self, index: int, frame: Any) -> None:
        """Write batch ``index``'s rows.

        Parameters
        ----------
        index : int
            Batch number.
        frame : pandas.DataFrame
            Its rows.

        Returns
        -------
        None
        """
        with atomic_path(self.part(index)) as tmp:
            frame.to_parquet(tmp, index=False)

    def finish(self, n_parts: int) -> Path:
        """Stream parts ``0 .. n_parts - 1`` into the final table, then remove the parts.

        Parameters
        ----------
        n_parts : int
            Batches in the run (every part must exist).

        Returns
        -------
        pathlib.Path
            The final table.
        """
        import pyarrow.parquet as pq

        paths = [self.part(i) for i in range(n_parts)]
        if not paths:  # a VCF with a header and no records: a table of column names
            from fnstore.variants.score import empty_table

            self.write(0, empty_table())
            paths = [self.part(0)]
        if self.kind == "parquet":
            with atomic_path(self.out) as tmp:
                writer = None
                for p in paths:
                    table = pq.read_table(p)
                    writer = writer or pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
                if writer is not None:
                    writer.close()
        else:
            opener = atomic_gzip if self.kind == "tsv.gz" else _atomic_binary
            with opener(self.out) as fh:
                for i, p in enumerate(paths):
                    text = (
                        pq.read_table(p)
                        .to_pandas()
                        .to_csv(
                            sep="\t", index=False, header=i == 0, na_rep="NA", float_format="%.7g"
                        )
                    )
                    fh.write(text.encode())
        shutil.rmtree(self.parts)
        return self.out


def _atomic_binary(path: Path) -> Any:
    return atomic_write(path, "wb")
