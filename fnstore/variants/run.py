"""``fnstore variants``: the effect of every SNV and short indel of a VCF on a model's scores.

Streaming: the variant file is read in batches of ``batch_size`` records
(:class:`fnstore.io.vcf.VariantFile`), each batch's REF and ALT windows are built
(:mod:`fnstore.variants.alleles`), scored through the exact fast path
(:mod:`fnstore.variants.score`) and its rows written as one part
(:mod:`fnstore.variants.table`); memory is bounded by one batch whatever the file's size.
A killed run is continued with ``resume=True``: finished batches are read past, not scored.

Every input problem that can be seen up front (a file that is not a VCF or variant table,
contig names that are not the store's, an unknown cell, a model whose tracks, annotations
or metadata the store lacks, an existing output) is one :class:`InputError` before anything
is written. Importing this module does not import Keras.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fnstore.errors import InputError
from fnstore.io.files import sha256_files
from fnstore.io.lock import output_lock
from fnstore.io.vcf import DEFAULT_BATCH, VariantBatch, VariantFile, contig_problem
from fnstore.predict.inputs import ModelInputs, resolve_inputs
from fnstore.progress import progress_bar
from fnstore.store.read import Store, open_store
from fnstore.variants.alleles import MAX_ALLELE, allele_inputs
from fnstore.variants.score import effect_table, score_alleles
from fnstore.variants.table import PartsWriter, table_format


@dataclass
class VariantJob:
    """A checked variants run: store, model card, inputs, tasks and the variant file."""

    model_dir: Path
    store: Store
    card: dict[str, Any]
    inputs: ModelInputs
    tasks: list[tuple[int, str]]
    variants: VariantFile
    batch_size: int
    max_allele: int
    method: str
    scorer: Any = None
    fallback: str | None = None

    def load_scorer(self) -> None:
        """Load the model and build its scorer (imports Keras; once).

        Returns
        -------
        None
        """
        if self.scorer is not None:
            return
        from fnstore.model.folder import load_model_dir
        from fnstore.predict.scoring import make_scorer

        model, _ = load_model_dir(self.model_dir)
        self.scorer, self.fallback = make_scorer(model, self.store.stride, self.method)

    def table(self, batch: VariantBatch) -> Any:
        """The effect table rows of one batch.

        Parameters
        ----------
        batch : VariantBatch
            Variant rows.

        Returns
        -------
        pandas.DataFrame
            See :data:`fnstore.variants.score.COLUMNS`.
        """
        self.load_scorer()
        alleles = allele_inputs(self.store, self.inputs, batch, self.max_allele)
        ref, alt = score_alleles(self.scorer, alleles)
        return effect_table(batch, alleles, ref, alt, self.inputs.cell, self.tasks)


def prepare(
    model_dir: str | os.PathLike,
    store: str | os.PathLike | Store,
    variants: str | os.PathLike,
    cell: str,
    *,
    tfs: Sequence[str] | None = None,
    method: str = "fast",
    batch_size: int = DEFAULT_BATCH,
    max_allele: int = MAX_ALLELE,
    track_aliases: Mapping[str, str] | None = None,
) -> VariantJob:
    """Check every input of a variants run (no Keras, nothing written).

    Parameters
    ----------
    model_dir : str or os.PathLike
        A trained model folder.
    store : str, os.PathLike or Store
        The store whose genome and signals give the windows.
    variants : str or os.PathLike
        VCF, VCF.gz, BCF or a ``CHROM POS REF ALT [ID]`` table.
    cell : str
        Cell whose signal tracks feed the model.
    tfs : sequence of str, optional
        Model tasks to report (default all).
    method : {"fast", "naive"}
        Scoring method (see :func:`fnstore.predict.scoring.make_scorer`).
    batch_size : int
        Variant records per batch (the unit of memory and of resuming).
    max_allele : int
        Longest REF or ALT allele scored.
    track_aliases : Mapping of str to str, optional
        Model track name -> store track name.

    Returns
    -------
    VariantJob
        Ready to score.
    """
    from fnstore.model.card import read_card
    from fnstore.predict.outputs import task_names

    if batch_size < 1:
        raise InputError("--batch-size", f"must be positive, got {batch_size}")
    if max_allele < 1:
        raise InputError("--max-allele", f"must be positive, got {max_allele}")
    if method not in ("fast", "naive"):
        raise InputError("--method", f"must be fast or naive, got {method!r}")
    st = store if isinstance(store, Store) else open_store(store)
    card = read_card(model_dir)
    inputs = resolve_inputs(st, card, cell, track_aliases, source=f"model {model_dir}")
    names = task_names(card)
    unknown = [t for t in tfs or () if t not in names]
    if unknown:
        raise InputError("--tf", f"the model has no task {', '.join(unknown)} ({', '.join(names)})")
    tasks = [(names.index(t), t) for t in dict.fromkeys(tfs)] if tfs else list(enumerate(names))
    vfile = VariantFile(variants)
    contigs = vfile.header_contigs
    if contigs is None:
        first = next(vfile.batches(batch_size), VariantBatch())
        if not first.n_records:
            raise InputError(vfile.path, "no variant records")
        contigs = list(dict.fromkeys(first.chrom))
    problem = contig_problem(contigs, list(st.chroms))
    if problem:
        raise InputError(vfile.path, problem)
    return VariantJob(
        Path(model_dir), st, card, inputs, tasks, vfile, batch_size, max_allele, method
    )


def score_variants(
    model_dir: str | os.PathLike,
    store: str | os.PathLike | Store,
    variants: str | os.PathLike,
    cell: str,
    **options: Any,
) -> Any:
    """The effect table of every variant, in memory (the Python face of ``fnstore variants``).

    Parameters
    ----------
    model_dir, store, variants, cell
        As for :func:`prepare`.
    **options
        ``tfs``, ``method``, ``batch_size``, ``max_allele``, ``track_aliases`` as for
        :func:`prepare`.

    Returns
    -------
    pandas.DataFrame
        One row per variant row (multi-allelic records split) and task, in file order;
        the columns of :data:`fnstore.variants.score.COLUMNS`.
    """
    import pandas as pd

    from fnstore.variants.score import COLUMNS

    job = prepare(model_dir, store, variants, cell, **options)
    frames = [job.table(batch) for batch in job.variants.batches(job.batch_size)]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(frames, ignore_index=True)


@dataclass
class VariantsResult:
    """What a written run scored."""

    out: Path
    cell: str
    n_records: int
    n_rows: int
    status: dict[str, int] = field(default_factory=dict)
    method: str = "fast"
    fallback: str | None = None
    batches_total: int = 0
    batches_computed: int = 0

    def summary(self) -> str:
        """The lines ``fnstore variants`` prints.

        Returns
        -------
        str
            Several lines, no trailing newline.
        """
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(self.status.items()))
        lines = [
            f"{self.n_records:,} variant records for {self.cell} ({self.method} method; "
            f"{self.batches_computed} of {self.batches_total} batches computed in this run)",
            f"{self.n_rows:,} table rows ({counts}): {self.out}",
        ]
        if self.fallback:
            lines.append(f"note: fast method not available ({self.fallback}); used naive")
        return "\n".join(lines)


def write_variant_effects(
    model_dir: str | os.PathLike,
    store: str | os.PathLike | Store,
    variants: str | os.PathLike,
    out: str | os.PathLike,
    cell: str,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    **options: Any,
) -> VariantsResult:
    """``fnstore variants``: score every variant and write the effect table to ``out``.

    Parameters
    ----------
    model_dir, store, variants, cell
        As for :func:`prepare`.
    out : str or os.PathLike
        ``.tsv``, ``.tsv.gz`` or ``.parquet`` table.
    resume : bool
        Continue an interrupted run with the same settings.
    overwrite : bool
        Replace an existing table (or an interrupted run's parts).
    progress : bool
        Show progress on stderr.
    **options
        As for :func:`score_variants`.

    Returns
    -------
    VariantsResult
        Counts, method and batches computed.
    """
    target = Path(out)
    table_format(target)
    job = prepare(model_dir, store, variants, cell, **options)
    record = _run_record(job)
    with output_lock(target):
        writer = PartsWriter(target, record, resume, overwrite)
        n_records = job.variants.count_records()
        result = VariantsResult(target, cell, n_records, 0, method=job.method)
        try:
            _score_batches(job, writer, result, progress)
        except InputError:
            # a malformed record found part-way: the input is bad, not the run interrupted
            import shutil

            shutil.rmtree(writer.parts, ignore_errors=True)
            raise
        writer.finish(result.batches_total)
        if job.scorer is not None:
            result.method = job.scorer.method
            result.fallback = job.fallback
        return result


def _score_batches(
    job: VariantJob, writer: PartsWriter, result: VariantsResult, progress: bool
) -> None:
    """Score the batches not yet written; count rows and statuses of all of them."""
    import pyarrow.parquet as pq

    status: Counter[str] = Counter()
    with progress_bar(result.n_records, f"variants {result.cell}", "variant", progress) as bar:
        for i, batch in enumerate(_batches(job)):
            if writer.done(i):
                frame = pq.read_table(writer.part(i), columns=["status"]).to_pandas()
            else:
                frame = job.table(batch)
                writer.write(i, frame)
                result.batches_computed += 1
            status.update(frame["status"].tolist())
            result.n_rows += len(frame)
            result.batches_total = i + 1
            bar.update(batch.n_records)
    result.status = dict(status)


def _batches(job: VariantJob) -> Iterator[VariantBatch]:
    return job.variants.batches(job.batch_size)


def _run_record(job: VariantJob) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one."""
    from fnstore.model.card import CARD_FILE, MODEL_FILE

    return {
        "format": "fnstore-variants-parts/1",
        "model": sha256_files([job.model_dir / CARD_FILE, job.model_dir / MODEL_FILE])[:16],
        "store_id": job.store.store_id,
        "cell": job.inputs.cell,
        "variants": sha256_files([job.variants.path])[:16],
        "batch_size": job.batch_size,
        "max_allele": job.max_allele,
        "method": job.method,
        "tasks": [name for _, name in job.tasks],
        "tracks": list(job.inputs.store_tracks),
    }
