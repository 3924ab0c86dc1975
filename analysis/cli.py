"""``python -m analysis``: one command per stage of the study.

Errors the user can fix (:class:`analysis.errors.UserInputError`, and a file or folder
this user may not read or write, or that is of the other kind) are printed as one
paragraph with exit status 2; a failed chapter exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from pathlib import Path

import yaml

from analysis.errors import UserInputError


def _print_counts(manifest) -> None:
    rows = [c for c in ("domain", "split", "method") if c in manifest.columns]
    table = manifest.pivot_table(
        index=rows, columns="label", values="video_id", aggfunc="count", fill_value=0
    ).rename(columns={0: "real", 1: "fake"})
    print(table.to_string())
    named = manifest[manifest["source_id"] != ""]  # Celeb-DF's YouTube-real videos name no identity
    keys = [c for c in ("domain", "split") if c in named.columns]
    ids = named.groupby(keys)["source_id"].nunique()
    print("identities (first id of a video's name) per split: "
          + ", ".join(f"{' '.join(k) if isinstance(k, tuple) else k} {v}" for k, v in ids.items()))


def _cmd_index(args: argparse.Namespace) -> int:
    from analysis.data.indexing import index_celebdf, index_ffpp
    from analysis.data.manifest import write_manifest

    out = args.out
    if out.is_dir():
        raise UserInputError(f"--out {out}: a folder; name the manifest file in it, such as {out / (args.dataset + '.csv')}.")
    if out.suffix.lower() != ".csv":
        raise UserInputError(f"--out {out}: a manifest is a CSV file, so name one ending in .csv (such as "
                             f"{out.with_suffix('.csv')}); a file of another kind is never overwritten.")
    _checked_output("--out", str(out))
    if args.dataset == "ffpp":
        result = index_ffpp(args.root, split=args.split, seed=args.seed, compression=args.compression)
    else:
        result = index_celebdf(args.root, all_videos=args.all_videos, allow_missing=args.allow_missing)
    for note in result.notes:
        print(f"note: {note}")
    path = write_manifest(result.manifest, args.out)
    _print_counts(result.manifest)
    print(f"wrote {len(result.manifest)} videos to {path}")
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    from analysis.book.build import BookError, check_parameters, run_book

    overrides = {key: yaml.safe_load(value) for key, value in args.parameter}
    if args.chapter:
        check_parameters(args.chapter, {"profile": args.profile, **overrides})
    if args.notebook:
        from analysis.book.build import execute_chapter
        from analysis.book.exercises import write_executed_chapter

        if not args.chapter:
            raise UserInputError("--notebook writes one chapter: give it with --chapter.")
        parameters = {"profile": args.profile, **overrides}
        log = args.notebook.with_suffix(".log")  # the built book's log stays the build's
        try:
            seconds = execute_chapter(args.chapter, parameters, log=log, executed=args.notebook)
        except BookError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        write_executed_chapter(args.chapter, args.notebook, parameters)
        print(f"chapter {args.chapter} executed in {seconds:.0f} s into {args.notebook}, its stderr in {log} "
              "(the built book and its tables are unchanged)")
        return 0
    try:
        index = run_book(args.profile, chapter=args.chapter, overrides=overrides)
    except BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"book built: {index}")
    return 0


def _cmd_results(args: argparse.Namespace) -> int:
    from analysis.evaluation.study import write_results
    from analysis.paths import results_dir
    from analysis.profiles import Analysis

    if args.store_seeds:
        from analysis.evaluation.study import seed_runs
        from analysis.evaluation.study import built_data_seed, load_seeds
        from analysis.training.run_record import git

        studies = load_seeds(args.profile, n_resamples=args.n_resamples, seed=args.seed)
        first = next(iter(studies.values()))
        path = seed_runs.store(args.profile, seed_runs.seed_values(studies, [first.primary, *first.models]),
                               built_data_seed(args.profile), git("rev-parse", "HEAD") or "unknown")
        print(f"stored the values of {len(studies)} training seeds: {path} and its .csv")
        return 0
    tables = write_results(args.profile, Analysis(n_resamples=args.n_resamples, seed=args.seed))
    print(tables["verdict"]["verdict"].item())
    print(f"wrote {len(tables)} tables to {results_dir(args.profile)}")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from analysis.benchmark.generator import generate
    from analysis.profiles import get_profile

    seed = get_profile(args.profile).data.seed if args.seed is None else args.seed
    manifest = generate(args.out, profile=args.profile, seed=seed, workers=args.workers)
    _print_counts(manifest)
    print(f"wrote {len(manifest)} videos and {args.out / 'manifest.csv'}")
    return 0


def _cmd_preprocess(args: argparse.Namespace) -> int:
    from analysis.data.manifest import read_manifest
    from analysis.preprocess.exclusions import excluded_per_split
    from analysis.preprocess.pipeline import parse_shard, preprocess, summary
    from analysis.profiles import resolve

    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserInputError("--device cuda: this machine has no CUDA device; pass --device cpu (slower) "
                                 "or run on a GPU machine.")
    manifest = read_manifest(args.manifest)
    settings = resolve(args.profile, args.override).preprocessing
    report = preprocess(manifest, args.out, settings, shard_spec=parse_shard(args.shard),
                        weights_dir=args.weights_dir, device=args.device)
    counts = summary(report)
    for name, value in counts.items():
        print(f"{name:>24}: {value:.3f}" if isinstance(value, float) else f"{name:>24}: {value}")
    for row in report[report["status"] == "failed"].itertuples():
        print(f"failed: {row.dataset}/{row.method}/{row.video_id}: {row.error}")
    for split, excluded in excluded_per_split(report, settings.frames_per_video,
                                                   settings.sequence_frames).items():
        print(f"excluded, {split}: " + ", ".join(f"{n} {reason}" for reason, n in excluded.items()))
    if counts["processed"] == 0:
        print(f"error: none of the {counts['videos']} videos could be processed", file=sys.stderr)
        return 1
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    import pandas as pd

    from analysis.models import model_table
    from analysis.profiles import get_profile

    with pd.option_context("display.width", 200, "display.max_colwidth", 60, "display.max_columns", 30):
        table = model_table([get_profile("paper"), get_profile("cpu")])
        print(table.drop(columns=["paper note"]).to_string(index=False))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from analysis.data.sources import study_manifest
    from analysis.profiles import resolve
    from analysis.paths import cache_dir
    from analysis.training.trainer import TrainConfig, train

    profile = resolve(args.profile, args.override)
    cfg = TrainConfig(
        model=args.model, profile=profile, manifest=str(args.manifest or study_manifest(profile)),
        cache_dir=str(args.cache or cache_dir(profile.name)), out_dir=str(args.out), seed=args.seed,
        weights_dir=str(args.weights_dir) if args.weights_dir else None,
    )
    out = train(cfg)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, the rank that wrote the run says so
        print(f"run written to {out}")
    return 0


TABLE_SUFFIXES = {".csv", ".json", ".tsv", ".txt"}
INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C


def _checked_output(flag: str, target: str | None) -> None:
    """Refuse, before any model loads, a table file that would overwrite a file that is no
    table (``--csv`` put before the files takes the first photo as its file) or that
    cannot be written, so no scoring is lost to a bad name."""
    if target in (None, "-"):
        return
    path = Path(target)
    if path.is_dir():
        raise UserInputError(f"{flag} {target}: a folder; name a file in it, such as "
                             f"{path / ('scores' + flag.replace('--', '.'))}.")
    if path.exists() and path.suffix.lower() not in TABLE_SUFFIXES:
        raise UserInputError(f"{flag} {target}: an existing file that is not a table "
                             f"({', '.join(sorted(TABLE_SUFFIXES))}), so it is not overwritten; put {flag} after "
                             "the files to print the table, or name a table file.")
    other = {"--csv": ".json", "--json": ".csv"}.get(flag)
    if path.exists() and path.suffix.lower() == other:  # a slip: the other table's file
        raise UserInputError(f"{flag} {target}: an existing {other} file, which {flag} would overwrite with a table "
                             f"of another format; name a {flag.replace('--', '.')} file.")
    folder = next(parent for parent in path.absolute().parents if parent.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UserInputError(f"{flag} {target}: cannot be written ({folder} is not a folder you can write to).")


def _write_output(target: str, text: str) -> None:
    """``-`` prints, anything else is a file (its folder made if need be); a file that
    cannot be written after all gets the table printed instead, so it is not lost."""
    if target == "-":
        print(text)
        return
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(text + "\n")
    except OSError as err:
        print(text)
        raise UserInputError(f"{target}: cannot be written ({err}); the table is printed above instead.") from None
    print(f"wrote {target}", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    from analysis.paths import run_dir
    from analysis.preprocess.pipeline import parse_shard
    from analysis.run import parse_only, run

    if args.dry_run:  # the plan (videos, stages, disk, hours); nothing is built
        from analysis import plan
        from analysis.profiles import resolve

        only = parse_only(args.only)
        parse_shard(args.shard)
        print(plan.describe(resolve(args.profile, args.override), only))
        return 0
    profile = run(args.profile, args.override, only=args.only, weights_dir=args.weights_dir, nproc=args.nproc,
                  shard=parse_shard(args.shard))
    done = f"the stages asked for ({args.only}) are" if args.only else "every artefact is"
    print(f"profile {profile.name}: {done} built or up to date under {run_dir(profile.name)}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from analysis.detector import Detector, prediction_table

    if args.json == "-" and args.csv == "-":
        raise UserInputError("--json and --csv cannot both print: give one of them a file, e.g. --csv scores.csv.")
    if args.json not in (None, "-") and args.csv not in (None, "-") and Path(args.json).resolve() == Path(
            args.csv).resolve():  # resolved: "a/../b.csv" or a link to the other is the same file
        raise UserInputError(f"--json and --csv name the same file, {args.csv} and {args.json}: the second would "
                             "overwrite the first; give each its own.")
    _checked_output("--json", args.json)
    _checked_output("--csv", args.csv)
    detector = Detector.from_run(args.run, device=args.device, seed=args.seed)
    if args.threshold is not None:
        detector.set_threshold(args.threshold)
    quiet = "-" in (args.json, args.csv)  # stdout carries the table, so no verdict lines
    batch = len(args.files) > 1  # the warning and the thresholds' bases repeat: said once, after the verdicts
    results, failed, interrupted = [], 0, False
    signal.signal(signal.SIGTERM, _interrupt)  # a kill keeps the scored files' tables, as Ctrl-C does
    try:
        for path in args.files:  # one at a time, so each verdict prints as soon as it is made
            prediction = detector.predict([path])[0]  # a file that fails gets its error, the others go on
            results.append(prediction.as_dict())
            if prediction.error:
                failed += 1
                print(f"error: {prediction.error}", file=sys.stderr)
            elif not quiet:
                print(prediction.text(batch=batch))
    except KeyboardInterrupt:  # the files scored so far are kept: their tables are written below
        print(f"interrupted: {len(results)} of {len(args.files)} files scored; the tables hold those.",
              file=sys.stderr)
        interrupted = True
    scored = [r for r in results if "error" not in r]
    if batch and not quiet and scored:
        for threshold, basis in dict.fromkeys((r["threshold"], r["threshold_basis"]) for r in scored):
            print(f"threshold {threshold:.3f}: {basis}")
        if detector.warning:
            print(f"warning, for {'every verdict' if len(scored) > 1 else 'the verdict'} above: {detector.warning}")
    unwritten = []  # a table that fails to write must not cost the other one
    for target, table in ((args.json, lambda: json.dumps(results, indent=2)),
                          (args.csv, lambda: prediction_table(results).to_csv(
                              index=False, sep="\t" if str(args.csv).lower().endswith(".tsv") else ",").rstrip("\n"))):
        if target:
            try:
                _write_output(target, table())
            except UserInputError as err:
                unwritten.append(str(err))
    if unwritten:
        raise UserInputError("; ".join(unwritten))
    return INTERRUPTED if interrupted else 1 if failed else 0


def _interrupt(signum, frame) -> None:
    """SIGTERM handled as Ctrl-C: stop, keep what is done."""
    raise KeyboardInterrupt


def _cmd_exercise_runs(args: argparse.Namespace) -> int:
    from analysis.book.exercises import copy_built_runs

    from analysis.paths import PROJECT_ROOT

    folder = copy_built_runs(args.profile).parent.relative_to(PROJECT_ROOT)
    print(f"copied the built {args.profile} runs' scores and run records into {folder}/{args.profile}; "
          f"recompute the results there after: export ANALYSIS_RUNS_DIR={folder}")
    return 0


def _cmd_exercises(args: argparse.Namespace) -> int:
    from analysis.book.exercises import BUNDLE_DIR, KEY_DIR, STUDENT_DIR, set_aside_answered, write_bundle

    out = args.out or BUNDLE_DIR
    if (out / STUDENT_DIR).is_dir():  # write_bundle sets them aside too; here the user hears where they went
        for kept in set_aside_answered(out / STUDENT_DIR):
            print(f"kept a student's answers as {kept} (the fresh notebook replaces the old name)")
    bundles = write_bundle(out=out)
    for bundle in bundles:
        print(f"{bundle.chapter}: {len(bundle.exercises)} exercises")
    print(f"wrote {len(bundles)} student notebooks to {out / STUDENT_DIR} and the answer key to {out / KEY_DIR}")
    return 0


def _cmd_lab(args: argparse.Namespace) -> int:
    from analysis.book.lab import start_lab

    start_lab(args.extra)
    return 0  # not reached: JupyterLab replaces this process


def _finite_float(text: str) -> float:
    """An argparse type: a number that is neither infinite nor nan."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text} is less than {least}")
    return value


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (a count)."""
    return _whole_number(text, 1)


def _path(text: str) -> Path:
    """An argparse type: a path that names something (an empty one would silently mean the
    current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: name a file or folder")
    return Path(text)


def _seed(text: str) -> int:
    """An argparse type: an integer of at least 0, as numpy and torch take a seed."""
    return _whole_number(text, 0)


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="change a profile field for this run, e.g. -o recipe.epochs=5 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="index a real dataset on disk into a manifest")
    datasets = index.add_subparsers(dest="dataset", required=True)
    ffpp = datasets.add_parser("ffpp", help="FaceForensics++ (standard layout)")
    ffpp.add_argument("root", type=_path)
    ffpp.add_argument("--out", type=_path, required=True, help="manifest CSV to write")
    ffpp.add_argument("--split", choices=("official", "identity"), default="official")
    ffpp.add_argument("--seed", type=_seed, default=0, help="seed of the identity split")
    ffpp.add_argument("--compression", default="c23",
                      help="the download's folder: raw (also c0), c23 or c40 (default c23)")
    celebdf = datasets.add_parser("celebdf", help="Celeb-DF v2")
    celebdf.add_argument("root", type=_path)
    celebdf.add_argument("--out", type=_path, required=True, help="manifest CSV to write")
    celebdf.add_argument(
        "--all-videos", action="store_true", help="list every video as test, not just the official 518"
    )
    celebdf.add_argument("--allow-missing", action="store_true",
                         help="test on the listed videos that are on disk when some are not (no longer the official set)")
    index.set_defaults(func=_cmd_index)

    synth = commands.add_parser("synth", help="generate the embedded benchmark")
    synth.add_argument("--profile", default="cpu", help="benchmark size: cpu or tiny")
    synth.add_argument("--out", type=_path, required=True, help="folder for videos and manifest.csv")
    synth.add_argument("--seed", type=_seed, help="benchmark draw (default: the profile's data seed, the book's draw)")
    synth.add_argument("--workers", type=_positive_int, help="processes (default: one per core)")
    synth.set_defaults(func=_cmd_synth)

    pre = commands.add_parser("preprocess", help="sample frames, crop faces, interpolate flow, fill the cache")
    pre.add_argument("--manifest", type=_path, required=True)
    pre.add_argument("--profile", default="cpu")
    _add_overrides(pre)
    pre.add_argument("--out", type=_path, required=True, help="cache folder")
    pre.add_argument("--shard", default="1/1", help="process only shard I of N (default 1/1)")
    pre.add_argument("--weights-dir", type=_path, help="folder with RAFT weights (else OpenCV flow)")
    pre.add_argument("--device", choices=("cpu", "cuda"), help="cpu or cuda (default: cuda if available)")
    pre.set_defaults(func=_cmd_preprocess)

    models = commands.add_parser("models", help="list the model registry")
    models.set_defaults(func=_cmd_models)

    tr = commands.add_parser("train", help="train one detector on a crop cache (one run, one process)")
    tr.add_argument("--model", required=True)
    tr.add_argument("--profile", default="cpu")
    _add_overrides(tr)
    tr.add_argument("--out", type=_path, required=True, help="run folder (resumed if it holds last.pt)")
    tr.add_argument("--cache", type=_path, help="crop cache folder (default: the profile's, runs/<profile>/cache)")
    tr.add_argument("--manifest", type=_path, help="default: the profile's study manifest")
    tr.add_argument("--seed", type=_seed, default=0, help="training seed")
    tr.add_argument("--weights-dir", type=_path, help="folder with pretrained weights (offline)")
    tr.set_defaults(func=_cmd_train)

    rn = commands.add_parser("run", help="build every artefact of a profile: data, crop cache, runs, scores")
    rn.add_argument("--profile", default="cpu")
    rn.add_argument("--only", metavar="STAGE[:MODEL]",
                    help="build one stage: data, preprocess, train (or train:MODEL), scores or results")
    rn.add_argument("--weights-dir", type=_path, help="folder with pretrained weights (offline)")
    rn.add_argument("--nproc", type=_positive_int, default=1, help="processes per training run (torchrun when > 1)")
    rn.add_argument("--dry-run", action="store_true",
                    help="print the plan (videos per split, stages, cache disk, estimated hours) and build nothing")
    rn.add_argument("--shard", default="1/1", metavar="I/N",
                    help="fill only shard I of N of the crop cache (one per machine; then run without it to finish)")
    _add_overrides(rn)
    rn.set_defaults(func=_cmd_run)

    pr = commands.add_parser("predict", help="score image or video files with trained runs")
    pr.add_argument("files", nargs="+", help="images (.jpg, .png, .heic, ...) or videos")
    pr.add_argument("--run", type=_path,
                    help="a profile folder (runs/cpu), a models folder (runs/cpu/models) or one run; several "
                         "runs score as their ensemble (default: the default profile's models)")
    pr.add_argument("--seed", type=_seed, help="training seed of the runs to use (default: the lowest present)")
    pr.add_argument("--threshold", type=_finite_float,
                    help="verdict threshold, between 0 and 1 for a fake probability (default: chosen on "
                         "validation videos)")
    pr.add_argument("--json", nargs="?", const="-", metavar="FILE",
                    help="write one JSON list to FILE (no FILE: print it instead of a line per file)")
    pr.add_argument("--csv", nargs="?", const="-", metavar="FILE",
                    help="write a table, one row per file, to FILE (no FILE: print it)")
    pr.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    pr.set_defaults(func=_cmd_predict)

    ex = commands.add_parser("exercises", help="write the instructor bundle: student notebooks and answer key")
    ex.add_argument("--out", type=_path, default=None, help="folder (default: runs/exercises)")
    ex.set_defaults(func=_cmd_exercises)

    er = commands.add_parser("exercise-runs", help="copy what the results stage reads from the built runs into "
                                                   "runs/exercises, where exercises recompute it")
    er.add_argument("--profile", default="cpu")
    er.set_defaults(func=_cmd_exercise_runs)

    lab = commands.add_parser("lab", help="JupyterLab (offline) with the chapters opening as notebooks")
    lab.set_defaults(func=_cmd_lab)  # other options go to `jupyter lab`, e.g. --port=8890 --no-browser

    res = commands.add_parser("results", help="compute the study's summary tables from the scores tables")
    res.add_argument("--profile", default="cpu")
    res.add_argument("--n-resamples", type=_positive_int, default=1000, help="bootstrap resamples")
    res.add_argument("--seed", type=_seed, default=0, help="bootstrap seed")
    res.add_argument("--store-seeds", action="store_true",
                     help="store the per-seed values of a several-seed run in book/stored/ (read by one-seed builds)")
    res.set_defaults(func=_cmd_results)

    book = commands.add_parser("book", help="execute the chapters and build the HTML book")
    book.add_argument("--profile", default="cpu")
    book.add_argument("--chapter", help="re-execute only this chapter (then rebuild the book)")
    book.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
        help="papermill parameter for the chapter(s), YAML-typed",
    )
    book.add_argument("--notebook", type=_path, metavar="PATH",
                      help="with --chapter: execute it into this notebook instead of the book's page, written to "
                           "read in Jupyter (its stderr goes beside it, PATH with .log)")
    book.set_defaults(func=_cmd_book)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return args.func(args)
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (PermissionError, IsADirectoryError, NotADirectoryError) as err:  # the user's files, not the code
        print(f"error: {err.filename}: {err.strerror}; check that it is the file or folder meant, and that "
              "this user may read (or write) it.", file=sys.stderr)
        return 2
