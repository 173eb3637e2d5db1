"""Tiny copies of the face anti-spoofing datasets, in their exact published layouts, for the tests.

Every file is real and small: videos of a few frames (160×120, Motion-JPEG or MPEG-4 as the dataset's
container takes), JPEG images, the protocol and label files. Each frame shows a real face that
OpenCV's Haar cascade finds (the astronaut and Grace Hopper, public domain, mirrored and tinted into
four "people"), drifting a little from frame to frame; attacks are the same faces with the contrast
and colour a recapture leaves. ``make_tree(name, root)`` builds one dataset and returns ``root``.
"""
import json
from functools import lru_cache
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import skimage.data

FRAME = (160, 120)  # width, height
NUM_FRAMES = 6


@lru_cache(maxsize=None)
def _portraits() -> tuple[np.ndarray, ...]:
    """Four RGB face windows (the face about half the frame height), from two public-domain photos."""
    astronaut = skimage.data.astronaut()[20:260, 110:430]  # Haar face box (177, 66, 95, 95) in the full image
    hopper = cv2.imread(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    hopper = cv2.cvtColor(hopper, cv2.COLOR_BGR2RGB)[40:460, 0:512]  # face box (155, 105, 222, 222)
    people = [astronaut, hopper, astronaut[:, ::-1], hopper[:, ::-1]]
    return tuple(np.ascontiguousarray(p) for p in people)


def face_frames(person: int, attack: bool = False, num_frames: int = NUM_FRAMES) -> np.ndarray:
    """uint8 (T, 120, 160, 3) RGB frames of person ``person`` (0-3), shifted a few pixels per frame."""
    portrait = _portraits()[person % 4]
    height, width = portrait.shape[:2]
    frames = []
    for t in range(num_frames):
        dx, dy = int(3 * np.sin(t)), int(2 * np.cos(t))
        window = portrait[max(0, dy + 4):height - 4 + dy, max(0, dx + 4):width - 4 + dx]
        frame = cv2.resize(window, FRAME, interpolation=cv2.INTER_AREA).astype(np.float32)
        if person >= 4:  # more people: a colour tint per person
            frame *= np.array([1.0, 0.9, 0.8]) if person % 2 else np.array([0.85, 0.95, 1.0])
        if attack:  # a recapture: lower contrast, a warm cast
            frame = 0.75 * frame + 40 + np.array([12.0, 0.0, -12.0])
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return np.stack(frames)


def write_video(path: Path, frames: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = "MJPG" if path.suffix.lower() == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, FRAME)
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_image(path: Path, frame: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


def write_corrupt_video(path: Path) -> Path:
    """A file with a video's name and random bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def write_faceless_video(path: Path) -> Path:
    """A readable video of a smooth gradient: no face anywhere."""
    ramp = np.linspace(0, 255, FRAME[0], dtype=np.float32)[None, :, None]
    frames = np.repeat(np.broadcast_to(ramp, (FRAME[1], FRAME[0], 3))[None], NUM_FRAMES, 0).astype(np.uint8)
    return write_video(path, frames)


def _oulu(root: Path) -> None:
    # users 01-20 train, 21-35 dev, 36-55 test; two users per split, phones 1-2, sessions 1-3, access 1-5
    users = {"Train_files": (1, 2), "Dev_files": (21, 22), "Test_files": (36, 37)}
    lists = {}
    for folder, split_users in users.items():
        for user in split_users:
            for phone in (1, 2):
                for session in (1, 2, 3):
                    for access in range(1, 6):
                        name = f"{phone}_{session}_{user:02d}_{access}"
                        # one video per (user, phone, session, access) would be 60 files per split: keep the
                        # sessions and accesses every protocol needs, a frame-cheap subset of the rest
                        if session == 2 and phone == 2:
                            continue
                        write_video(root / folder / f"{name}.avi", face_frames(user, attack=access > 1, num_frames=3))
                        lists.setdefault(folder, []).append((phone, session, user, access, name))
    protocol_dir = root / "Protocols"

    def write_list(protocol: str, split: str, keep) -> None:
        folder = {"Train": "Train_files", "Dev": "Dev_files", "Test": "Test_files"}[split.split("_")[0]]
        lines = [f"{'+1' if a == 1 else '-1' if a in (2, 3) else '-2'},{n}" for p, s, u, a, n in lists[folder]
                 if keep(p, s, a)]
        path = protocol_dir / f"Protocol_{protocol}" / f"{split}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")

    for split in ("Train", "Dev"):
        write_list("1", split, lambda p, s, a: s in (1, 2))
        write_list("2", split, lambda p, s, a: a in (1, 2, 4))
    write_list("1", "Test", lambda p, s, a: s == 3)
    write_list("2", "Test", lambda p, s, a: a in (1, 3, 5))
    for k in range(1, 7):  # protocol 3: leave phone k out; protocol 4: phone, session and instrument
        phone = 1 + (k - 1) % 2
        for split in ("Train", "Dev"):
            write_list("3", f"{split}_{k}", lambda p, s, a, phone=phone: p != phone)
            write_list("4", f"{split}_{k}", lambda p, s, a, phone=phone: p != phone and s in (1, 2) and a in (1, 2, 4))
        write_list("3", f"Test_{k}", lambda p, s, a, phone=phone: p == phone)
        write_list("4", f"Test_{k}", lambda p, s, a, phone=phone: p == phone and s == 3 and a in (1, 3, 5))


def _siw(root: Path) -> None:
    for folder, subjects in (("Train", (3, 4, 5, 6, 7, 8)), ("Test", (90, 91))):
        for subject in subjects:
            for kind, media in (("live", [(1, 1)]), ("spoof", [(2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (3, 4)])):
                for type_, medium in media:
                    name = f"{subject:03d}-1-{type_}-{medium}-1.mov"
                    write_video(root / folder / kind / f"{subject:03d}" / name,
                                face_frames(subject, attack=type_ > 1, num_frames=3))


def _casia(root: Path) -> None:
    for folder, subjects in (("train_release", (1, 2, 3, 4, 5, 6)), ("test_release", (1, 2))):
        for subject in subjects:
            for name in ("1", "HR_1", "3", "5", "7", "HR_4"):
                write_video(root / folder / str(subject) / f"{name}.avi",
                            face_frames(subject + (10 if folder == "test_release" else 0),
                                        attack=name not in ("1", "2", "HR_1"), num_frames=3))


def _replay(root: Path) -> None:
    for folder, clients in (("train", (1, 2)), ("devel", (3, 4)), ("test", (5, 6))):
        for client in clients:
            c = f"client{client:03d}"
            write_video(root / folder / "real" / f"{c}_session01_webcam_authenticate_controlled_1.mov",
                        face_frames(client, num_frames=3))
            for support, medium in (("fixed", "print"), ("hand", "mobile"), ("fixed", "highdef")):
                kind = "photo" if medium == "print" else "video"
                quality = "highdef" if medium != "mobile" else "mobile"
                name = f"attack_{medium}_{c}_session01_{quality}_{kind}_controlled.mov"
                write_video(root / folder / "attack" / support / name, face_frames(client, True, num_frames=3))


def _msu(root: Path) -> None:
    (root / "train_sub_list.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "train_sub_list.txt").write_text("2\n3\n5\n6\n7\n")
    (root / "test_sub_list.txt").write_text("1\n9\n")
    for client in (1, 2, 3, 5, 6, 7, 9):
        c = f"client{client:03d}"
        write_video(root / "scene01" / "real" / f"real_{c}_android_SD_scene01.mp4", face_frames(client, num_frames=3))
        write_video(root / "scene01" / "real" / f"real_{c}_laptop_SD_scene01.mov", face_frames(client, num_frames=3))
        for instrument in ("printed_photo", "ipad_video", "iphone_video"):
            write_video(root / "scene01" / "attack" / f"attack_{c}_android_SD_{instrument}_scene01.mp4",
                        face_frames(client, True, num_frames=3))


def _celeba(root: Path) -> None:
    for split, subjects in (("train", (10, 11, 12, 13, 14, 15)), ("test", (50, 51))):
        labels = {}
        for subject in subjects:
            for kind, spoof_type in (("live", 0), ("spoof", 1), ("spoof", 7), ("spoof", 9)):
                stem = f"{len(labels):06d}"
                relative = f"Data/{split}/{subject}/{kind}/{stem}.{'jpg' if kind == 'live' else 'png'}"
                frame = face_frames(subject, attack=kind == "spoof", num_frames=1)[0]
                write_image(root / relative, frame)
                # the face box, as CelebA-Spoof stores it: for the image scaled to 224 x 224
                x, y, w, h = 40 / 160 * 224, 10 / 120 * 224, 80 / 160 * 224, 90 / 120 * 224
                (root / relative).with_name(f"{stem}_BB.txt").write_text(f"{x:.0f} {y:.0f} {w:.0f} {h:.0f} 0.99\n")
                values = [0] * 44
                values[40], values[43] = spoof_type, int(kind == "spoof")
                labels[relative] = values
        path = root / "metas" / "intra_test" / f"{split}_label.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(labels))


def _folder(root: Path) -> None:
    for person in range(3):
        write_video(root / "live" / f"person{person}" / "clip.mp4", face_frames(person, num_frames=4))
        write_image(root / "live" / f"person{person}" / "selfie.jpg", face_frames(person, num_frames=1)[0])
        write_video(root / "spoof" / "print" / f"person{person}" / "clip.avi", face_frames(person, True, 4))
        write_video(root / "spoof" / "phone_replay" / f"person{person}" / "clip.mov", face_frames(person, True, 4))


BUILDERS = {"oulu_npu": _oulu, "siw": _siw, "casia_fasd": _casia, "replay_attack": _replay, "msu_mfsd": _msu,
            "celeba_spoof": _celeba, "folder": _folder}


def make_tree(name: str, root) -> Path:
    """A tiny copy of dataset ``name`` in its published layout under ``root``."""
    root = Path(root)
    BUILDERS[name](root)
    return root
