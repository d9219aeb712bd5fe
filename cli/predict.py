"""``tfsg predict``: thread candidate files into models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import configure_logging, import_tensorflow_quietly, fail, user_errors


def predict(
    candidates: Annotated[str, typer.Argument(help="Candidate file (.json[.gz], .npz, .csv, .tsv, .pdb, .cif), or a directory or glob of them (batch mode).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output model (.pdb/.cif); in batch mode a directory.")],
    sequence: Annotated[Optional[str], typer.Option("--sequence", "-s", help="FASTA file (one record per chain, or per entity with '>ID copies=N' or the PDB's '>ID|Chains A, B|...' headers) or a literal sequence. Default: the candidate file's 'sequence'.")] = None,
    assignments: Annotated[Optional[Path], typer.Option("--assignments", "-a", help="Also write the assignment JSON here (batch mode: always written beside the models).")] = None,
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="SavedModel folder (or its version folder) for the network decoders (auto, constrained, unique, greedy). Default: the bundled model. Given without --decoder: the model's own decoder (auto).")] = None,
    direction: Annotated[str, typer.Option(help="forward, backward or ensemble.")] = "ensemble",
    decoder: Annotated[Optional[str], typer.Option(help="constrained (default: the assembly decoder with the classical HMM scores and the bundled network's emission correction; best on held-out data: README 'Decoders'), hmm (the same without the network: no TensorFlow, fastest), links (the HMM with the bundled link head's learned backbone-link scores), auto (the model's own decoder: constrained for models trained with the emission prior, like the bundled one; else unique), unique (network top-K, each node once, chains disjoint) or greedy (argmax). Without --decoder: constrained with the bundled model, or auto with --model, or links with --link-model.")] = None,
    link_model: Annotated[Optional[Path], typer.Option("--link-model", help="Link-head SavedModel for --decoder links (default: the bundled one); with --decoder constrained (or auto), its link scores are added as well.")] = None,
    link_weight: Annotated[Optional[float], typer.Option("--link-weight", help="Factor on the link scores (--decoder links). Default: the value stored with the link model.")] = None,
    min_confidence: Annotated[float, typer.Option("--min-confidence", help="Positions whose best free node is less probable stay unassigned.")] = 0.1,
    coord_noise: Annotated[float, typer.Option("--coord-noise", help="Expected coordinate error (Å) of the candidates (hmm, constrained and links decoders).")] = 0.3,
    dihedral_weight: Annotated[float, typer.Option("--dihedral-weight", help="Factor on the HMM's penalty for virtual dihedrals real chains rarely take (hmm, constrained and links decoders); 0 turns it off: the second-order HMM, faster, less accurate where decoys are dense.")] = 1.0,
    copies: Annotated[str, typer.Option("--copies", help="Copies of each sequence record to thread: fasta = the FASTA's counts (copies=N or the PDB header's chains; default), auto = found from the candidates (hmm, constrained and links decoders), or N for every record.")] = "fasta",
    runner: Annotated[Optional[str], typer.Option(help="Batch mode on Apache Beam: DirectRunner (local, all cores), DataflowRunner, FlinkRunner, SparkRunner. Default: in-process loop.")] = None,
    beam_option: Annotated[Optional[list[str]], typer.Option("--beam-option", help="Extra Beam pipeline option, e.g. --beam-option=--direct_num_workers=2 (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Batch mode: model format, pdb or cif.")] = "cif",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Thread sequences through candidate Cα positions; write models and assignments."""
    configure_logging(verbose)
    with user_errors(verbose):
        from tf_structgen.inference import jobs
        from tf_structgen.inference.model_store import resolve_model_dir
        from tf_structgen.inference.predictor import (Predictor, choose_decoder, needs_model,
                                                     parse_copies)

        copies_value = parse_copies(copies)  # a bad value fails before any work
        decoder = choose_decoder(decoder, model, link_model)
        inputs = jobs.expand_inputs(candidates)
        batch = len(inputs) > 1 or Path(candidates).is_dir() or inputs[0] != Path(candidates)
        model_dir = resolve_model_dir(model) if needs_model(decoder) else None
        if model_dir is not None or decoder == "links":
            import_tensorflow_quietly(verbose)
        predictor = Predictor(model_dir, decoder=decoder, direction=direction,
                              min_confidence=min_confidence, coord_noise=coord_noise,
                              dihedral_weight=dihedral_weight,
                              copies=copies_value, link_model=link_model,
                              link_weight=link_weight)
        if not batch:
            result = jobs.predict_file(predictor, inputs[0], sequence, out, assignments)
            for chain in result:
                assigned = int((chain.nodes >= 0).sum())
                typer.echo(f"chain {chain.id}: {assigned}/{len(chain.nodes)} positions assigned")
            typer.echo(f"wrote {out}" + (f" and {assignments}" if assignments else ""))
            return
        if fmt not in ("pdb", "cif"):
            raise fail("--format must be pdb or cif")
        out.mkdir(parents=True, exist_ok=True)
        if runner is not None:
            return _predict_beam(jobs, inputs, sequence, out, fmt, runner, beam_option or [],
                                 model_dir, decoder=decoder, direction=direction,
                                 min_confidence=min_confidence, coord_noise=coord_noise,
                                 dihedral_weight=dihedral_weight,
                                 copies=copies_value, link_model=link_model,
                                 link_weight=link_weight)
        failures = _predict_batch(predictor, jobs, inputs, sequence, out, fmt)
    typer.echo(f"{len(inputs) - failures}/{len(inputs)} files threaded into {out}")
    if failures:
        raise typer.Exit(1)


def _predict_batch(predictor, jobs, inputs, sequence, out, fmt) -> int:
    from rich.progress import Progress

    from tf_structgen.common.errors import InputError

    failures = 0
    with Progress(transient=True) as progress:
        task = progress.add_task("threading", total=len(inputs))
        for path, model_path, assignment_path in jobs.batch_outputs(inputs, out, fmt):
            try:
                jobs.predict_file(predictor, path, sequence, model_path, assignment_path)
            except InputError as e:
                failures += 1
                typer.echo(f"error: {jobs.error_line(path, e)}", err=True)
            progress.advance(task)
    return failures


def _predict_beam(jobs, inputs, sequence, out, fmt, runner, beam_options, model_dir,
                  **predictor_kwargs):
    done, planned, errors = jobs.predict_batch_beam(
        inputs, sequence, out, fmt, runner=runner, pipeline_args=beam_options,
        model_dir=model_dir, **predictor_kwargs)
    for line in errors:
        typer.echo(f"error: {line}", err=True)
    typer.echo(f"{done - len(errors)}/{done} files threaded into {out} "
               f"({planned - done} already done, skipped)")
    if errors:
        raise typer.Exit(1)
