"""Real face anti-spoofing datasets: parse a local copy in its published layout into recordings.

Nothing here downloads or ships any part of a dataset: each adapter reads the folders and protocol
files of a copy you obtained under its licence, and lists its presentations as ``Recording``s (a
video or an image, its label, attack instrument, split and subject). `faslearn.data.load_crops` then
samples frames, detects and aligns the faces and caches the crops. The layouts, as published:

- **OULU-NPU** (``oulu_npu``): ``Train_files/``, ``Dev_files/``, ``Test_files/`` hold
  ``Phone_Session_User_Access.avi``; access 1 is real, 2/3 print 1/2, 4/5 replay 1/2 (users 01-20
  train, 21-35 dev, 36-55 test). ``Protocols/Protocol_N/{Train,Dev,Test}[_k].txt`` list the videos
  of each protocol, one ``+1,1_1_01_1`` (real) or ``-1,...`` / ``-2,...`` (print / replay) per line.
- **SiW** (``siw``): ``Train/`` and ``Test/``, each with ``live/<subject>/`` and ``spoof/<subject>/``
  holding ``<subject>-<sensor>-<type>-<medium>-<session>.mov``; type 1 live, 2 print, 3 replay.
  Protocol 1 uses every video; protocol 2_k leaves replay medium k out of training and tests on it;
  protocol 3_1 trains on print and tests on replay, 3_2 the other way round.
- **CASIA-FASD** (``casia_fasd``): ``train_release/<subject>/`` (20 subjects) and ``test_release/``
  (30) hold ``1, 2, HR_1`` (real), ``3, 4, HR_2`` (warped print), ``5, 6, HR_3`` (cut print) and
  ``7, 8, HR_4`` (replay), as ``.avi``.
- **Idiap Replay-Attack** (``replay_attack``): ``train/``, ``devel/``, ``test/`` with ``real/*.mov``
  and ``attack/{fixed,hand}/attack_<instrument>_client<id>_...mov``; instruments print, mobile,
  highdef. Its grandtest protocol is these three folders.
- **MSU-MFSD** (``msu_mfsd``): ``scene01/real/real_client<id>_<device>_SD_scene01.{mp4,mov}`` and
  ``scene01/attack/attack_client<id>_<device>_SD_<instrument>_scene01.{mp4,mov}`` (instruments
  printed_photo, ipad_video, iphone_video); ``train_sub_list.txt`` and ``test_sub_list.txt`` name
  the subjects of each split, one number per line.
- **CelebA-Spoof** (``celeba_spoof``): images under ``Data/{train,test}/<subject>/{live,spoof}/``,
  each with a ``<stem>_BB.txt`` box ``x y w h score`` given for the image scaled to 224×224;
  ``metas/intra_test/{train,test}_label.json`` maps each image path to 44 integers, [40] the spoof
  type and [43] the label (0 live, 1 spoof).
- **Your own data** (``folder``): ``live/**`` and ``spoof/<instrument>/**`` (videos or images), or
  the same under ``train/``, ``dev/`` and ``test/``; without those, everything is test data.

Datasets without a dev split of their own (SiW, CASIA-FASD, MSU-MFSD, CelebA-Spoof, ``folder`` with
a train split) get one from their training subjects: every fifth subject in sorted order, so the
threshold is always chosen on data the model neither trained nor is tested on.

``cross_dataset("O&C&I->M", roots)`` composes the domain-generalisation protocols of the OCIM
benchmark: train on the sources' train recordings, choose the threshold on their dev recordings,
test on every recording of the target outside its dev split (as SSDG and AG-FAS evaluate it).
"""
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

BONA_FIDE = "bona_fide"  # the name faslearn.metrics uses for bona fide presentations
SPLITS = ("train", "dev", "test")
VIDEO_SUFFIXES = (".avi", ".mov", ".mp4", ".mkv", ".webm")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

DATASETS = {"oulu_npu": "OULU-NPU", "siw": "SiW", "casia_fasd": "CASIA-FASD", "replay_attack": "Idiap Replay-Attack",
            "msu_mfsd": "MSU-MFSD", "celeba_spoof": "CelebA-Spoof", "folder": "your own data"}
OCIM = {"O": "oulu_npu", "C": "casia_fasd", "I": "replay_attack", "M": "msu_mfsd"}
CROSS_DATASET_PROTOCOLS = ("O&C&I->M", "O&M&I->C", "O&C&M->I", "I&C&M->O", "M&I->C", "M&I->O", "C->I", "I->C")
CELEBA_SPOOF_TYPES = ("live", "photo", "poster", "a4", "face_mask", "upper_body_mask", "region_mask", "pc", "pad",
                      "phone", "mask_3d")


class DatasetError(ValueError):
    """A dataset folder, protocol file or recording that is missing or not in the expected layout."""


@dataclass(frozen=True)
class Recording:
    """One presentation of a real dataset: a video file (or a single image) and its labels.

    ``pai`` is ``"bona_fide"`` or the attack instrument (e.g. ``"print_1"``), the species that
    `faslearn.metrics` reports APCER for; ``split`` is ``"train"``, ``"dev"`` or ``"test"``;
    ``video`` is unique across datasets (``"<dataset>/<the file's stem or relative path>"``);
    ``box`` is a face box (x, y, w, h) in the file's pixels where the dataset provides one.
    """

    path: Path
    label: int  # 1 = bona fide, 0 = attack
    pai: str
    split: str
    subject: str
    dataset: str
    video: str
    box: tuple[float, float, float, float] | None = None


def protocols(name: str) -> tuple[str, ...]:
    """The protocol names dataset ``name`` accepts ("all": every recording, in the dataset's own splits)."""
    _check_name(name)
    return {"oulu_npu": ("1", "2") + tuple(f"{p}_{k}" for p in (3, 4) for k in range(1, 7)) + ("all",),
            "siw": ("1", "2_1", "2_2", "2_3", "2_4", "3_1", "3_2", "all"),
            "replay_attack": ("grandtest", "all"), "celeba_spoof": ("intra", "all")}.get(name, ("all",))


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; expected one of {list(DATASETS)}")


def _require(root: Path, name: str, folders) -> None:
    """A one-line error unless ``root`` is a folder holding ``folders``."""
    missing = [f for f in folders if not (root / f).exists()]
    if not root.is_dir() or missing:
        raise DatasetError(f"no {DATASETS[name]} copy at {root}: expected a folder with "
                           f"{', '.join(f + '/' for f in folders)}" + (f" (missing: {', '.join(missing)})" if
                                                                      root.is_dir() else ""))


def _files(folder: Path, suffixes) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file())


def _record(root: Path, path: Path, name: str, label: int, pai: str, split: str, subject: str, box=None):
    video = f"{name}/{path.relative_to(root).with_suffix('').as_posix()}"
    return Recording(path, label, pai if label == 0 else BONA_FIDE, split, str(subject), name, video, box)


def _dev_from_train(recordings: list[Recording]) -> list[Recording]:
    """Every fifth training subject (in sorted order, at least one) becomes the dev split."""
    subjects = sorted({r.subject for r in recordings if r.split == "train"})
    dev = set(subjects[::5]) if len(subjects) > 1 else set()
    return [replace(r, split="dev") if r.split == "train" and r.subject in dev else r for r in recordings]


# ---------------------------------------------------------------------------------------- OULU-NPU
OULU_ACCESS = {1: BONA_FIDE, 2: "print_1", 3: "print_2", 4: "replay_1", 5: "replay_2"}
OULU_FOLDERS = {"train": "Train_files", "dev": "Dev_files", "test": "Test_files"}


def _oulu(root: Path, protocol: str) -> list[Recording]:
    _require(root, "oulu_npu", list(OULU_FOLDERS.values()) + ([] if protocol == "all" else ["Protocols"]))

    def record(path: Path, split: str) -> Recording:
        parts = path.stem.split("_")
        if len(parts) != 4 or not all(p.isdigit() for p in parts) or int(parts[3]) not in OULU_ACCESS:
            raise DatasetError(f"{path}: expected an OULU-NPU video named Phone_Session_User_Access.avi "
                               "(access 1-5), e.g. 1_1_01_1.avi")
        access = int(parts[3])
        return _record(root, path, "oulu_npu", int(access == 1), OULU_ACCESS[access], split, parts[2])

    if protocol == "all":
        return [record(p, split) for split, folder in OULU_FOLDERS.items() for p in _files(root / folder, (".avi",))]
    number, _, fold = protocol.partition("_")
    recordings = []
    for split, folder in OULU_FOLDERS.items():
        list_file = root / "Protocols" / f"Protocol_{number}" / f"{split.capitalize()}{'_' + fold if fold else ''}.txt"
        if not list_file.is_file():
            raise DatasetError(f"OULU-NPU protocol {protocol}: no list file {list_file}")
        names = []
        for line_number, line in enumerate(list_file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            match = re.fullmatch(r"\s*([+-][12])\s*,\s*(\d+_\d+_\d+_\d+)\s*", line)
            if not match:
                raise DatasetError(f"{list_file}:{line_number}: expected a line like '+1,1_1_01_1' or "
                                   f"'-1,1_1_01_2', got {line.strip()!r}")
            names.append(match.group(2))
        paths = [root / folder / f"{n}.avi" for n in names]
        absent = [p for p in paths if not p.is_file()]
        if absent:
            raise DatasetError(f"{list_file} names {len(absent)} video(s) absent from {root / folder}, "
                               f"the first {absent[0].name}")
        recordings += [record(p, split) for p in paths]
    return recordings


# --------------------------------------------------------------------------------------------- SiW
SIW_TYPES = {1: "live", 2: "print", 3: "replay"}


def _siw(root: Path, protocol: str) -> list[Recording]:
    _require(root, "siw", ["Train", "Test"])
    recordings = []
    for split, folder in (("train", "Train"), ("test", "Test")):
        for path in _files(root / folder, (".mov", ".mp4")):
            parts = path.stem.split("-")
            if len(parts) != 5 or not all(p.isdigit() for p in parts) or int(parts[2]) not in SIW_TYPES:
                raise DatasetError(f"{path}: expected a SiW video named <subject>-<sensor>-<type>-<medium>-"
                                   "<session>.mov with type 1 (live), 2 (print) or 3 (replay)")
            kind, medium = SIW_TYPES[int(parts[2])], int(parts[3])
            recordings.append(_record(root, path, "siw", int(kind == "live"), f"{kind}_{medium}", split, parts[0]))
    number, _, fold = protocol.partition("_")
    if number == "2":  # leave replay medium `fold` out of training, test on it
        held_out = f"replay_{fold}"
        recordings = [r for r in recordings if r.pai == BONA_FIDE or
                      (r.pai.startswith("replay") and (r.pai == held_out) == (r.split == "test"))]
    elif number == "3":  # 3_1: print -> replay; 3_2: replay -> print
        train_kind, test_kind = ("print", "replay") if fold == "1" else ("replay", "print")
        recordings = [r for r in recordings if r.pai == BONA_FIDE or
                      r.pai.startswith(train_kind if r.split == "train" else test_kind)]
    return _dev_from_train(recordings)


# -------------------------------------------------------------------------------------- CASIA-FASD
CASIA_KINDS = {"1": BONA_FIDE, "2": BONA_FIDE, "HR_1": BONA_FIDE, "3": "warped_print", "4": "warped_print",
               "HR_2": "warped_print", "5": "cut_print", "6": "cut_print", "HR_3": "cut_print", "7": "replay",
               "8": "replay", "HR_4": "replay"}


def _casia(root: Path, protocol: str) -> list[Recording]:
    _require(root, "casia_fasd", ["train_release", "test_release"])
    recordings = []
    for split, folder in (("train", "train_release"), ("test", "test_release")):
        for path in _files(root / folder, (".avi",)):
            if path.stem not in CASIA_KINDS:
                raise DatasetError(f"{path}: expected a CASIA-FASD video named 1-8 or HR_1-HR_4 (.avi)")
            pai = CASIA_KINDS[path.stem]
            recordings.append(_record(root, path, "casia_fasd", int(pai == BONA_FIDE), pai, split,
                                      f"{split}_{path.parent.name}"))
    return _dev_from_train(recordings)


# ----------------------------------------------------------------------------------- Replay-Attack
def _replay(root: Path, protocol: str) -> list[Recording]:
    _require(root, "replay_attack", ["train", "devel", "test"])
    recordings = []
    for split, folder in (("train", "train"), ("dev", "devel"), ("test", "test")):
        for path in _files(root / folder, (".mov",)):
            kind = path.relative_to(root / folder).parts[0]
            client = re.search(r"client(\d+)", path.stem)
            instrument = re.match(r"attack_(print|mobile|highdef)_", path.stem)
            if kind not in ("real", "attack") or not client or (kind == "attack") != bool(instrument):
                raise DatasetError(f"{path}: expected real/client<id>_....mov or attack/{{fixed,hand}}/attack_"
                                   "{print,mobile,highdef}_client<id>_....mov")
            recordings.append(_record(root, path, "replay_attack", int(kind == "real"),
                                      instrument.group(1) if instrument else BONA_FIDE, split, client.group(1)))
    return recordings


# ---------------------------------------------------------------------------------------- MSU-MFSD
def _msu(root: Path, protocol: str) -> list[Recording]:
    _require(root, "msu_mfsd", ["scene01/real", "scene01/attack", "train_sub_list.txt", "test_sub_list.txt"])
    split_of = {}
    for split in ("train", "test"):
        for line in (root / f"{split}_sub_list.txt").read_text().split():
            if not line.isdigit():
                raise DatasetError(f"{root / f'{split}_sub_list.txt'}: expected one subject number per line, "
                                   f"got {line!r}")
            split_of[int(line)] = split
    recordings = []
    for kind in ("real", "attack"):
        for path in _files(root / "scene01" / kind, (".mp4", ".mov")):
            match = re.fullmatch(r"(real|attack)_client(\d+)_(\w+?)_SD_(?:(printed_photo|ipad_video|iphone_video)_)?"
                                 r"scene01", path.stem)
            if not match or (kind == "attack") != bool(match.group(4)):
                raise DatasetError(f"{path}: expected {kind}_client<id>_<device>_SD_"
                                   f"{'<instrument>_' if kind == 'attack' else ''}scene01.mp4 or .mov")
            subject = int(match.group(2))
            if subject not in split_of:
                continue  # the lists leave some subjects out; so does the published protocol
            recordings.append(_record(root, path, "msu_mfsd", int(kind == "real"), match.group(4) or BONA_FIDE,
                                      split_of[subject], f"{subject:03d}"))
    return _dev_from_train(recordings)


# ------------------------------------------------------------------------------------ CelebA-Spoof
def _celeba(root: Path, protocol: str) -> list[Recording]:
    _require(root, "celeba_spoof", ["Data", "metas/intra_test"])
    import cv2  # only to read image sizes for the boxes

    recordings = []
    for split in ("train", "test"):
        label_file = root / "metas" / "intra_test" / f"{split}_label.json"
        if not label_file.is_file():
            raise DatasetError(f"CelebA-Spoof: no label file {label_file}")
        try:
            labels = json.loads(label_file.read_text())
        except json.JSONDecodeError as error:
            raise DatasetError(f"{label_file} is not valid JSON ({error.msg} at line {error.lineno})") from None
        for relative, values in sorted(labels.items()):
            path = root / relative
            if not (isinstance(values, list) and len(values) == 44):
                raise DatasetError(f"{label_file}: {relative} should map to a list of 44 integers")
            if not path.is_file():
                raise DatasetError(f"{label_file} names {relative}, absent from {root}")
            box_file = path.with_name(f"{path.stem}_BB.txt")
            box = None
            if box_file.is_file():  # x y w h score, for the image scaled to 224 x 224
                x, y, w, h = (float(v) for v in box_file.read_text().split()[:4])
                height, width = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[:2]
                box = (x * width / 224, y * height / 224, w * width / 224, h * height / 224)
            recordings.append(_record(root, path, "celeba_spoof", int(values[43] == 0),
                                      CELEBA_SPOOF_TYPES[values[40]], split, path.parts[-3], box))
    return _dev_from_train(recordings)


# ---------------------------------------------------------------------------------- your own data
def _folder(root: Path, protocol: str) -> list[Recording]:
    if not root.is_dir():
        raise DatasetError(f"no data at {root}: expected a folder with live/ and spoof/<instrument>/ "
                           "(optionally under train/, dev/ and test/)")
    splits = [s for s in SPLITS if (root / s).is_dir()] or [None]
    recordings = []
    for split in splits:
        base = root / split if split else root
        for path in _files(base, VIDEO_SUFFIXES + IMAGE_SUFFIXES):
            parts = path.relative_to(base).parts
            if parts[0] == "live":
                label, pai = 1, BONA_FIDE
            elif parts[0] == "spoof" and len(parts) > 2:
                label, pai = 0, parts[1]
            else:
                raise DatasetError(f"{path}: expected it under live/ or spoof/<instrument>/ in {base}")
            subject = path.parent.name if len(parts) > 2 + (label == 0) else path.stem
            recordings.append(_record(root, path, "folder", label, pai, split or "test", subject))
    return _dev_from_train(recordings) if "dev" not in splits else recordings


ADAPTERS = {"oulu_npu": _oulu, "siw": _siw, "casia_fasd": _casia, "replay_attack": _replay, "msu_mfsd": _msu,
            "celeba_spoof": _celeba, "folder": _folder}


def load_recordings(name: str, root: str | Path, protocol: str = "all") -> list[Recording]:
    """The recordings of dataset ``name`` at ``root`` under ``protocol``, sorted by video id."""
    _check_name(name)
    if not isinstance(root, (str, os.PathLike)) or not str(root).strip():
        raise DatasetError(f"root must be the folder of your {DATASETS[name]} copy, got {root!r}")
    protocol = str(protocol)
    if protocol not in protocols(name):
        raise DatasetError(f"unknown {DATASETS[name]} protocol {protocol!r}; expected one of {list(protocols(name))}")
    recordings = ADAPTERS[name](Path(root), protocol)
    if not recordings:
        raise DatasetError(f"found no recordings of {DATASETS[name]} (protocol {protocol}) in {root}")
    return sorted(recordings, key=lambda r: r.video)


def cross_dataset(protocol: str, roots: dict) -> dict[str, list[Recording]]:
    """``train``/``dev``/``test`` recordings of a cross-dataset protocol such as "O&C&I->M" (module docstring).

    ``roots`` maps dataset letters (O, C, I, M) or names to folders."""
    match = re.fullmatch(r"([OCIM](?:&[OCIM])*)->([OCIM])", str(protocol).replace(" ", ""))
    if not match:
        raise DatasetError(f"unknown cross-dataset protocol {protocol!r}; expected sources->target in the letters "
                           f"O, C, I, M (e.g. one of {list(CROSS_DATASET_PROTOCOLS)})")
    sources, target = match.group(1).split("&"), match.group(2)
    if target in sources:
        raise DatasetError(f"cross-dataset protocol {protocol!r} tests on one of its sources")
    folders = {}
    for letter in (*sources, target):
        folder = roots.get(letter, roots.get(OCIM[letter]))
        if folder is None:
            raise DatasetError(f"protocol {protocol} needs the folder of {DATASETS[OCIM[letter]]}: give "
                               f"{letter}=/path/to/it")
        folders[letter] = folder
    split = {"train": [], "dev": [], "test": []}
    for letter in sources:
        for r in load_recordings(OCIM[letter], folders[letter]):
            if r.split in ("train", "dev"):
                split[r.split].append(r)
    split["test"] = [r for r in load_recordings(OCIM[target], folders[target]) if r.split != "dev"]
    return split
