"""The faslearn command line: prepare a dataset, train, evaluate, predict, export, benchmark.

    faslearn prepare oulu_npu /data/OULU-NPU --protocol 1 --size 256
    faslearn train notebooks/training/configs/oulu_npu_protocol1.yaml --set epochs=1
    faslearn evaluate runs/cdcn-oulu oulu_npu /data/OULU-NPU --protocol 1 --json metrics.json
    faslearn predict runs/cdcn-oulu selfie.jpg --draw annotated/
    faslearn export runs/cdcn-oulu cdcn.onnx --check
    faslearn benchmark dg_sweep oanet_sweep runs/my-vit --csv table.csv

A *run* is the output_dir of a finished train_cdcn.ipynb run (results.json + model.safetensors), or
cdcn_night_leave_one_out, the course's shipped CDCN with its dev threshold:
  faslearn predict cdcn_night_leave_one_out selfie.jpg
A cross-dataset protocol names the folders of its datasets:
  faslearn evaluate RUN cross_dataset O=/data/OULU-NPU,C=/data/CASIA-FASD,I=/data/replay,M=/data/MSU \
      --protocol "O&C&I->M"

Exit status: 0 done; 1 the input could not be used (the message says which file and what was expected:
a missing folder, an unreadable video, no face found), or some of it could not: predict, prepare and
evaluate go on past an unusable file or recording, finish with the rest and list what they left out;
2 a malformed command line; 130 interrupted.
"""
import argparse
import csv
import json
import sys
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
MAX_IMAGE_PIXELS = 100 * 10**6  # a 100-megapixel photo; larger ones are refused before they are decoded


def whole_number(text: str, low: int = 1) -> int:
    """argparse type: a whole number >= ``low`` (a clear usage error, exit status 2, otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    return whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    return whole_number(text, 0)


def frame_count(text: str) -> int:
    """argparse type: frames per video or webcam, 1 to 1,000 (every frame is held in memory)."""
    value = positive_int(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(f"expected at most 1000 frames, got {value}")
    return value


def input_source(text: str) -> str:
    """argparse type: a non-empty input (an empty path would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected an image, a folder of images, a video or a webcam index, got ''")
    return text


def file_path(text: str) -> Path:
    """argparse type: the path of a file to write (not one ending in '/', which names a folder)."""
    if not text.strip() or text.endswith(("/", "\\")):
        raise argparse.ArgumentTypeError(f"expected the path of a file to write, got {text!r}")
    return Path(text)


def output_file(path: Path, option: str, overwrite: bool) -> Path:
    """Check, before any work, that ``path`` can be written as a file: not a folder, not a path ending in '/',
    and not an existing file unless ``overwrite``; its folder is created. One clear line otherwise."""
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder; expected a file path")
    if path.exists() and not path.is_file():
        raise ValueError(f"{option} {path} is not a regular file; expected a file path")
    if path.exists() and not overwrite:
        raise ValueError(f"{option} {path} exists already; pass --overwrite to replace it")
    output_folder(path.parent, f"{option}'s folder")
    return path


def write_output(path: Path, write: Callable[[Path], object], option: str) -> None:
    """``write(path)``, with a failure (a full disk, no permission) as one line naming the file."""
    try:
        write(path)
    except OSError as error:
        raise ValueError(f"{option} {path} could not be written: {error.strerror or error}") from None


def finite_float(text: str) -> float:
    """argparse type: a finite number (not nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def opset(text: str) -> int:
    """argparse type: an ONNX opset the exporter writes as asked (18 up to what the installed onnx knows)."""
    from .export import supported_opsets

    value = positive_int(text)
    low, high = supported_opsets()
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected an ONNX opset from {low} to {high}, got {value}")
    return value
RUN_HELP = "folder of a finished training run, or cdcn_night_leave_one_out (the course's shipped CDCN)"


def _crop_options(parser, size: int | None = 256, frames: int = 1) -> None:
    if size is not None:
        parser.add_argument("--size", type=positive_int, default=size,
                            help=f"face crop side in pixels (default {size})")
    parser.add_argument("--frames", type=positive_int, default=frames,
                        help=f"frames sampled per video (default {frames})")
    parser.add_argument("--scheme", choices=("uniform", "ssdg"), default="uniform",
                        help="frame sampling (default uniform)")
    parser.add_argument("--detector", default="haar", help="face detector: haar (default), mediapipe or mtcnn")
    parser.add_argument("--cache", type=Path, help="crop cache folder (default $FASLEARN_CACHE/crops)")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes that detect faces (default 1)")


def _dataset_arguments(parser) -> None:
    parser.add_argument("dataset", help="oulu_npu, siw, casia_fasd, replay_attack, msu_mfsd, celeba_spoof, folder "
                                        "(your own live/ and spoof/<instrument>/), or cross_dataset")
    parser.add_argument("root", help="the dataset's folder (for a cross-dataset protocol: O=...,C=...,I=...,M=...)")
    parser.add_argument("--protocol", default="all", help="the dataset's protocol, e.g. 1 or 3_2 for OULU-NPU; for "
                                                          "cross_dataset e.g. 'O&C&I->M' (default all)")


def _load_crops(args, size: int):
    from .data import load_crops

    if args.cache is not None and args.cache.exists() and not args.cache.is_dir():
        raise ValueError(f"--cache {args.cache} is a file; expected a folder (created if missing)")
    progress = sys.stderr.isatty()  # the bar only on a terminal; the report whatever stderr is
    crops = load_crops(args.dataset, args.root, args.protocol, size=size, frames=args.frames, scheme=args.scheme,
                       detector=args.detector, cache_dir=args.cache, workers=args.workers, progress=progress)
    if not progress:  # (with progress on, prepare_crops printed it)
        print(crops.report())
    return crops


def _partial_status(command: str, crops) -> int:
    """0 when every recording was used; 1, with one line on stderr, when some were skipped (listed above)."""
    if not crops.skipped:
        return 0
    print(f"faslearn {command}: {len(crops.skipped)} of {len(crops) + len(crops.skipped)} recordings skipped "
          "(listed in the crop report above); the others were used", file=sys.stderr)
    return 1


def prepare(args: argparse.Namespace) -> int:
    crops = _load_crops(args, args.size)
    splits = {split: int((crops.split == split).sum()) for split in ("train", "dev", "test")}
    print(f"{len(crops.label)} recordings ready in the crop cache: " + ", ".join(f"{n} {s}" for s, n in splits.items()))
    return _partial_status("prepare", crops)


def evaluate(args: argparse.Namespace) -> int:
    from .metrics import evaluate as dev_threshold_metrics
    from .metrics import video_scores
    from .runs import load_run

    for option, path in (("--json", args.json), ("--csv", args.csv)):  # before the work, not after it
        if path is not None:
            output_file(path, option, args.overwrite)
    run = load_run(args.run)
    crops = _load_crops(args, run.image_size)
    report = {}
    for split in ("dev", "test"):
        rows = crops.select(split)
        if len(rows) == 0:
            raise ValueError(f"{args.dataset} protocol {args.protocol} has no {split} recordings with a face; "
                             "evaluate needs dev (for the threshold) and test")
        frames = crops.frames[rows]  # (n, T, S, S, 3)
        scores = run.score(frames.reshape(-1, *frames.shape[2:]))
        videos = np.repeat(crops.video[rows], frames.shape[1])
        report[split] = video_scores(scores, videos, np.repeat(crops.label[rows], frames.shape[1]),
                                     np.repeat(crops.pai[rows], frames.shape[1]))
    metrics = dev_threshold_metrics(report["dev"].scores, report["dev"].labels, report["test"].scores,
                                    report["test"].labels, report["test"].pai)
    print(f"{args.run} on {args.dataset} protocol {args.protocol}: {len(report['test'].scores)} test videos, "
          f"threshold {metrics['threshold']:.4f} (the dev EER point)")
    rows = [(key.upper(), f"{100 * metrics[key]:.2f}%")
            for key in ("hter", "acer", "apcer", "apcer_pooled", "bpcer", "eer")]
    rows += [("AUC", f"{metrics['auc']:.4f}")]
    rows += [(f"APCER {pai}", f"{100 * value:.2f}%") for pai, value in metrics["apcer_per_pai"].items()]
    for name, value in rows:
        print(f"  {name:<22}{value:>10}")
    flat = {key: value for key, value in metrics.items() if key != "apcer_per_pai"}
    flat.update({f"apcer_{pai}": value for pai, value in metrics["apcer_per_pai"].items()})
    if args.json:
        write_output(args.json, lambda p: p.write_text(json.dumps(flat, indent=1)), "--json")
    if args.csv:
        def write_csv(path: Path) -> None:
            with open(path, "w", newline="") as file:
                writer = csv.writer(file)
                writer.writerow(["metric", "value"])
                writer.writerows(flat.items())
        write_output(args.csv, write_csv, "--csv")
    return _partial_status("evaluate", crops)


def _inputs(source: str, video_frames: int):
    """Yield (input name, frame name, RGB frame) for an image, a folder of images, a video file (``video_frames``
    frames spread over it) or a webcam index (``video_frames`` consecutive frames)."""
    import cv2

    from .data import read_video

    if source.isdigit():
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # V4L's warnings: the line below says it
        camera = cv2.VideoCapture(int(source))
        try:
            for t in range(video_frames):
                ok, frame = camera.read()
                if not ok:
                    raise ValueError(f"webcam {source} gave no frame; expected a connected camera at that index")
                yield f"webcam{source}", f"webcam{source}#{t}", cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            camera.release()
        return
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"{path} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    elif path.is_file():
        files = [path]
    elif path.exists() or path.is_symlink():  # a device, a pipe, a socket, a link that leads nowhere
        raise ValueError(f"{path} is not a regular file; expected an image, a folder of images, a video or a "
                         "webcam index")
    else:
        raise FileNotFoundError(f"{path} not found; expected an image, a folder of images, a video or a webcam index")
    for file in files:  # one unreadable file is reported (a ValueError in place of the frame); the rest go on
        if not file.is_file():  # a folder named like an image, a pipe (reading it would wait forever), a loop
            yield file.name, file.name, ValueError(f"{file} is not a regular file; expected an image")
        elif file.suffix.lower() in IMAGE_SUFFIXES:
            try:
                yield file.name, file.name, read_image(file)
            except ValueError as error:
                yield file.name, file.name, error
        else:
            try:
                frames = read_video(file)
            except (OSError, ValueError) as error:
                yield file.name, file.name, ValueError(str(error))
                continue
            for t in np.unique(np.round(np.linspace(0, len(frames) - 1, video_frames)).astype(int)):
                yield file.name, f"{file.name}#{t}", frames[t]


def read_image(path: Path) -> np.ndarray:
    """An RGB image file as uint8 (H, W, 3); ValueError naming the file if it is unreadable or truncated.

    OpenCV decodes a truncated JPEG with only libjpeg's warning on stderr, so the file is first decoded in
    full by Pillow, which refuses one that ends early.
    """
    import cv2
    from PIL import Image, UnidentifiedImageError

    expected = "expected a complete JPEG, PNG or BMP file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            with Image.open(path) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise ValueError(f"{path} is {image.width}x{image.height} pixels, more than the "
                                     f"{MAX_IMAGE_PIXELS // 10**6} megapixels predict reads; expected a photo")
                image.load()
    except UnidentifiedImageError:
        raise ValueError(f"{path} cannot be read as an image; {expected}") from None
    except Image.DecompressionBombError:
        raise ValueError(f"{path} holds more pixels than are safe to decode (a decompression bomb?); "
                         "expected a photo") from None
    except OSError as error:  # Pillow: "image file is truncated (...)"
        raise ValueError(f"{path} is damaged ({error.strerror or error}); {expected}") from None
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # as before: OpenCV applies the EXIF orientation
    if image is None:
        raise ValueError(f"{path} cannot be read as an image; {expected}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def output_folder(path: Path, option: str) -> Path:
    """Create the folder ``path`` (and its parents) for an option's outputs; one clear line if it cannot be."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is a file; expected a folder (created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"{option} {path}: cannot create the folder ({error.strerror or error})") from None
    return path


def drawing_name(name: str) -> str:
    """The file a drawing of input ``name`` goes to: photo.jpg -> photo.faslearn.jpg, clip.mp4#3 ->
    clip.frame3.faslearn.jpg."""
    file, _, frame = name.partition("#")
    return f"{Path(file).stem}{f'.frame{frame}' if frame else ''}.faslearn.jpg"


def predict(args: argparse.Namespace) -> int:
    import cv2

    from .data import align_face, get_detector
    from .runs import load_run

    run = load_run(args.run)
    threshold = args.threshold if args.threshold is not None else run.threshold
    if threshold is None:
        raise ValueError(f"{args.run}/results.json holds no dev threshold; pass --threshold")
    detector = get_detector(args.detector)
    if args.draw:
        output_folder(args.draw, "--draw")

    def decision(score) -> str:
        return "bona fide" if score >= threshold else "attack"

    print(f"{'input':<28}{'face':>5}{'box (x, y, w, h)':>24}{'score':>10}  decision (threshold {threshold:.4f})")
    first_face_scores = {}  # input -> scores of its largest face, frame by frame
    failed, drawn_names = {}, set()  # input -> why it was not scored or drawn; drawings written by this run
    for source, name, image in _inputs(args.input, args.video_frames):
        if isinstance(image, Exception):
            failed[name] = str(image)
            print(f"{name:<28}    -  unreadable (listed at the end)")
            continue
        faces = detector.detect(image)[: args.max_faces]
        if not faces:
            print(f"{name:<28}    -  no face found")
            continue
        scores = run.score(np.stack([align_face(image, face, run.image_size) for face in faces]))
        first_face_scores.setdefault(source, []).append(scores[0])
        drawn = image.copy()
        for i, (face, score) in enumerate(zip(faces, scores)):
            box = tuple(int(round(v)) for v in face.box)
            print(f"{name:<28}{i:>5}{str(box):>24}{score:>10.4f}  {decision(score)}")
            colour = (0, 200, 0) if score >= threshold else (220, 0, 0)
            x, y, w, h = box
            cv2.rectangle(drawn, (x, y), (x + w, y + h), colour, 2)
            cv2.putText(drawn, f"{decision(score)} {score:.2f}", (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.45, colour, 1, cv2.LINE_AA)
        if args.draw:
            target = args.draw / drawing_name(name)
            if target in drawn_names:  # two inputs with one stem (photo.jpg, photo.png): keep the suffix
                target = args.draw / f"{name.replace('#', '.frame')}.faslearn.jpg"
            try:
                if target.exists() and not args.overwrite:
                    failed[name] = f"the drawing {target} exists already; pass --overwrite to replace it"
                elif not cv2.imwrite(str(target), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
                    failed[name] = f"the drawing {target} could not be written"
            except (OSError, cv2.error) as error:  # e.g. a name longer than the file system allows
                reason = getattr(error, "strerror", None) or error
                failed[name] = f"the drawing {target} could not be written ({reason})"
            drawn_names.add(target)
    for source, scores in first_face_scores.items():
        if len(scores) > 1:  # a video: its score is the mean over frames, as in evaluation
            print(f"{source}: mean score of the main face over {len(scores)} frames {np.mean(scores):.4f}  "
                  f"{decision(np.mean(scores))}")
    for name, reason in failed.items():
        print(f"faslearn predict: {name}: {reason}", file=sys.stderr)
    if failed:
        print(f"faslearn predict: {len(failed)} input(s) not scored or not drawn (above); the others were",
              file=sys.stderr)
        return 1
    if not first_face_scores:
        print(f"no face found in {args.input}", file=sys.stderr)
        return 1
    return 0


def export(args: argparse.Namespace) -> int:
    import torch

    from .export import export_onnx, onnx_parity
    from .runs import load_run

    output_file(args.output, "the output", args.overwrite)
    run = load_run(args.run)
    try:
        channels = 6 if run.inputs == "image+cue" else 3
        path = export_onnx(run.model, run.objective, args.output, run.image_size, channels, opset=args.opset)
    except OSError as error:
        raise ValueError(f"the output {args.output} could not be written: {error.strerror or error}") from None
    what = {"image": "image", "cue": "the face's anomalous cue (computed by the run's DFG)",
            "image+cue": "image and its anomalous cue (computed by the run's DFG) stacked"}[run.inputs]
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB): {what} (N, {channels}, {run.image_size}, "
          f"{run.image_size}) in [-1, 1] -> score (N,)")
    if args.check:
        images = torch.rand(4, channels, run.image_size, run.image_size,
                            generator=torch.Generator().manual_seed(0)) * 2 - 1
        difference = onnx_parity(run.model, run.objective, path, images)
        print(f"onnxruntime vs PyTorch: largest difference {difference:.2e}")
        if difference > args.tolerance:
            print(f"parity check failed: {difference:.2e} > {args.tolerance:.0e}", file=sys.stderr)
            return 1
    return 0


def train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from . import sweeps
    return sweeps.run(args, parser)


def benchmark(args: argparse.Namespace) -> int:
    from .experiments import benchmark as benchmark_table
    from .experiments import benchmark_text, fuse_two_stream, merge_sweeps, read_sweep, target_name

    for option, path in (("--json", args.json), ("--csv", args.csv)):  # before the work, not after it
        if path is not None:
            output_file(path, option, args.overwrite)
    sweep = merge_sweeps([read_sweep(source) for source in args.runs])
    fused = fuse_two_stream(sweep)  # the two-stream model beside its branches, if any
    sweep = merge_sweeps([sweep, fused])
    if args.target:
        sweep["runs"] = {n: r for n, r in sweep["runs"].items() if target_name(r["parameters"]) in args.target}
    if not sweep["runs"]:
        raise ValueError("no runs to compare" + (f" on target(s) {', '.join(args.target)}" if args.target else ""))
    # the course benchmark's protocols (intra, leave_one_out) are not mixed; a real dataset's protocol is its column
    course = {r["parameters"].get("protocol") for r in sweep["runs"].values()
              if r["parameters"].get("dataset", "faslearn") == "faslearn"}
    if len(course) > 1:
        sweep["runs"] = {n: r for n, r in sweep["runs"].items() if r["parameters"].get("dataset", "faslearn") !=
                         "faslearn" or r["parameters"].get("protocol") == args.protocol}
        if not sweep["runs"]:
            raise ValueError(f"the runs mix protocols {sorted(map(str, course))}; none is {args.protocol!r} "
                             "(choose one with --protocol)")
    table = benchmark_table(sweep, n_boot=args.bootstrap)
    table.sort(key=lambda entry: entry["hter"])
    pairs = sum(name in sweep["runs"] for name in fused["runs"])
    print(f"{len(sweep['runs']) - pairs} runs" + (f" (and {pairs} two-stream pairs fused)" if pairs else "")
          + "; HTER at each run's dev EER threshold, mean over targets ± sd over seeds; "
          "legacy: at the target's own EER threshold (optimistic)")
    print(benchmark_text(table))
    flat = [{k: v for k, v in entry.items() if k != "targets"} | {f"hter_{t}": v for t, v in entry["targets"].items()}
            for entry in table]
    if args.json:
        write_output(args.json, lambda p: p.write_text(json.dumps(table, indent=1)), "--json")
    if args.csv:
        def write_csv(path: Path) -> None:
            columns = list(dict.fromkeys(k for row in flat for k in row))
            with open(path, "w", newline="") as file:
                writer = csv.DictWriter(file, columns)
                writer.writeheader()
                writer.writerows(flat)
        write_output(args.csv, write_csv, "--csv")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faslearn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub = commands.add_parser("prepare", help="detect, align and cache the faces of a dataset",
                              description="Parse a dataset in its published layout, then detect, align and cache "
                                          "its faces (resumable: an interrupted run keeps what it did).")
    _dataset_arguments(sub)
    _crop_options(sub)

    from .sweeps import add_arguments
    sub = commands.add_parser("train", help="run a training config (a sweep of papermill notebook runs)",
                              description="Run every entry of a config (notebooks/training/configs/*.yaml) through "
                                          "its training notebook with papermill; finished runs are skipped.")
    add_arguments(sub)

    sub = commands.add_parser("evaluate", help="score a trained run on a dataset protocol",
                              description="Score the dev and test recordings (video level: the mean of the frames), "
                                          "take the EER threshold of dev and report the test metrics.")
    sub.add_argument("run", help=RUN_HELP)
    _dataset_arguments(sub)
    _crop_options(sub, size=None, frames=2)
    sub.add_argument("--json", type=file_path, help="also write the metrics to this JSON file")
    sub.add_argument("--csv", type=file_path, help="also write the metrics to this CSV file")
    sub.add_argument("--overwrite", action="store_true", help="replace existing --json / --csv files")

    sub = commands.add_parser("predict", help="score the faces of an image, a folder, a video or a webcam",
                              description="Detect every face, align it, score it and decide with the run's dev "
                                          "threshold.")
    sub.add_argument("run", help=RUN_HELP)
    sub.add_argument("input", type=input_source,
                     help="an image, a folder of images, a video file, or a webcam index (0, 1, ...)")
    sub.add_argument("--detector", default="haar", help="face detector: haar (default), mediapipe or mtcnn")
    sub.add_argument("--threshold", type=finite_float, help="decision threshold (default: the run's dev EER threshold)")
    sub.add_argument("--max-faces", type=positive_int, default=5, help="faces scored per image (default 5)")
    sub.add_argument("--video-frames", type=frame_count, default=8,
                     help="frames scored per video or webcam (default 8)")
    sub.add_argument("--draw", type=Path, help="folder for copies of the inputs with the boxes and decisions drawn "
                                               "(photo.jpg -> photo.faslearn.jpg)")
    sub.add_argument("--overwrite", action="store_true", help="replace drawings that exist already")

    sub = commands.add_parser("export", help="export a trained run to ONNX (CDC folded), with a parity check",
                              description="Write image -> score (and the depth map for CDCN) as ONNX. Needs "
                                          'pip install "faslearn[onnx]".')
    sub.add_argument("run", help=RUN_HELP)
    sub.add_argument("output", type=file_path, help="the .onnx file to write")
    sub.add_argument("--opset", type=opset, default=18, help="ONNX opset (default 18)")
    sub.add_argument("--check", action="store_true", help="compare onnxruntime with PyTorch on random faces")
    sub.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    sub.add_argument("--tolerance", type=positive_float, default=1e-4,
                     help="largest difference --check accepts (default 1e-4)")

    sub = commands.add_parser("benchmark", help="compare finished runs side by side (the course's Table I)",
                              description="One row per method (network and objective): test HTER per target and "
                                          "its mean at each run's dev EER threshold, ± sd over seeds, a bootstrap "
                                          "interval over identities, ACER, AUC and the legacy test-EER HTER.")
    sub.add_argument("runs", nargs="+", help="run folders (a training notebook's output_dir), collected sweep "
                                             "JSON files, or shipped results (e.g. dg_sweep, oanet_sweep)")
    sub.add_argument("--protocol", default="leave_one_out", choices=("leave_one_out", "intra"),
                     help="which runs to compare when they mix protocols (default leave_one_out)")
    sub.add_argument("--target", action="append", help="only runs on this target domain, or this real protocol, e.g. "
                                                       "'O&C&I->M' (repeatable)")
    sub.add_argument("--bootstrap", type=non_negative_int, default=200,
                     help="bootstrap replicates of the interval (default 200; 0: none)")
    sub.add_argument("--json", type=file_path, help="also write the table to this JSON file")
    sub.add_argument("--csv", type=file_path, help="also write the table to this CSV file")
    sub.add_argument("--overwrite", action="store_true", help="replace existing --json / --csv files")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"prepare": prepare, "evaluate": evaluate, "predict": predict, "export": export, "benchmark": benchmark}
    try:
        return train(args, parser) if args.command == "train" else commands[args.command](args)
    except (OSError, ValueError, ImportError) as error:  # DatasetError and NoFaceError are ValueErrors
        print(f"faslearn {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"faslearn {args.command}: interrupted; what was done is kept (run it again to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
