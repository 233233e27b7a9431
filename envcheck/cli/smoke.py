"""`envcheck smoke-train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    FileOpt,
    JsonOpt,
    PrefixOpt,
    ProfileOpt,
    PythonOpt,
    QuietOpt,
    VerboseOpt,
)
from envcheck.output.envelope import emit_json

NAME = "smoke-train"


@boundary(NAME)
def command(
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
    python: PythonOpt = None,
    level: Annotated[
        list[str] | None,
        typer.Option(
            "--level", "-l", help="scratch, keras, tape, tf1-optimizer or tf1-gradients (repeatable; default: all)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the initial weights, shared by every level.")] = 0,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs per level.")] = 2000,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate of plain gradient descent.")] = 0.1,
    device: Annotated[
        str, typer.Option("--device", help="cpu, gpu (fail if TensorFlow sees none) or auto (TensorFlow decides).")
    ] = "auto",
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of every level's loss curve (needs matplotlib).")
    ] = None,
    compare_cpu: Annotated[
        bool, typer.Option("--compare-cpu/--no-compare-cpu", help="On a GPU, also run on the CPU and compare.")
    ] = True,
    json_output: JsonOpt = False,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Keep home folder, user and host names in --json.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds the training process may take.")
    ] = 600.0,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy", help="mirrored: tf.distribute.MirroredStrategy over every local device of the kind."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="N workers on this machine, MultiWorkerMirroredStrategy over 127.0.0.1."),
    ] = None,
    cluster: Annotated[
        bool, typer.Option("--cluster", help="Be one worker of a cluster (TF_CONFIG, or Slurm under srun).")
    ] = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train the tutorial's network at every level and check that TensorFlow computes right.

    Exit codes: 0 all passed (warnings allowed), 1 a check failed, 2 usage error, 3 environment unusable.
    """
    from envcheck.output import RichReporter, stderr_console, stdout_console
    from envcheck.output.smoke import json_document, render_smoke
    from envcheck.smoke.train import make_options, smoke_train
    from envcheck.targets import resolve_target

    options = make_options(
        level,
        seed=seed,
        epochs=epochs,
        lr=lr,
        device=device,
        plot=plot,
        compare_cpu=compare_cpu,
        timeout=timeout,
        strategy=strategy,
        workers=workers,
        cluster=cluster,
    )
    target = resolve_target(profile, file, prefix, python)
    reporter = RichReporter(stderr_console(), verbose=verbose, quiet=quiet or (json_output and not verbose))
    report = smoke_train(target, options, reporter)
    if json_output:
        emit_json(json_document(report, redact=not no_redact))
    else:
        render_smoke(report, stdout_console(), verbose=verbose, quiet=quiet)
    raise typer.Exit(int(report.exit_code))
