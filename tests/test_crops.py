"""Frame sampling, frame reading and the resumable face-crop cache, on small videos made here."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from faslearn.data import ClipDataset, FrameDataset, make_benchmark, prepare_clips, read_video
from faslearn.data.real.adapters import Recording
from faslearn.data.real.align import HaarDetector, align_face
from faslearn.data.real.crops import CropSet, frame_indices, prepare_crops, read_frames

SIZE, FRAMES = 64, 2  # small crops, two frames per video: fast


def write_video(path: Path, frames) -> Path:
    """RGB frames -> an MJPG .avi (10 fps)."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def face_frames(count: int = 6, step: int = 3) -> list:
    """160x120 windows of the astronaut photo, her face (93 px) moving ``step`` px right per frame."""
    astronaut = data.astronaut()
    return [astronaut[53:173, 143 - step * t:303 - step * t].copy() for t in range(count)]


def noise_frames(count: int = 6, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 200, 160, dtype=np.float32)[None, :, None]
    return [np.clip(gradient + rng.normal(0, 20, (120, 160, 3)), 0, 255).astype(np.uint8) for _ in range(count)]


def recording(path, video, label=1, split="train", subject="1", dataset="toy", box=None) -> Recording:
    return Recording(Path(path), label, "bona_fide" if label else "print_1", split, subject, dataset, video, box)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recordings")
    faces = face_frames()
    cv2.imwrite(str(folder / "photo.png"), cv2.cvtColor(faces[0], cv2.COLOR_RGB2BGR))
    (folder / "corrupt.avi").write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return dict(live=write_video(folder / "live.avi", faces), attack=write_video(folder / "attack.avi", faces[::-1]),
                photo=folder / "photo.png", corrupt=folder / "corrupt.avi",
                empty=write_video(folder / "empty.avi", noise_frames()),
                half=write_video(folder / "half.avi", faces[:3] + noise_frames(3)))


@pytest.fixture(scope="module")
def recordings(files):
    return [recording(files["live"], "toy/live", subject="1"),
            recording(files["attack"], "toy/attack", label=0, subject="1"),
            recording(files["photo"], "other/photo", split="test", subject="1", dataset="other"),
            recording(files["live"], "other/boxed", label=0, split="dev", subject="2", dataset="other",
                      box=(34, 14, 93, 93)),
            recording(files["corrupt"], "toy/corrupt", subject="3"),
            recording(files["empty"], "toy/empty", label=0, subject="3"),
            recording(files["half"], "toy/half", split="dev", subject="2")]


class CountingDetector(HaarDetector):
    """Haar (same name, same cache keys), counting its calls; raises KeyboardInterrupt at call ``stop_at``."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.calls, self.stop_at = 0, stop_at

    def detect(self, image):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return super().detect(image)


def test_frame_indices():
    np.testing.assert_array_equal(frame_indices(10, 3), [0, 4, 9])  # round(linspace(0, 9, 3)), as read_video
    np.testing.assert_array_equal(frame_indices(1, 2), [0, 0])
    np.testing.assert_array_equal(frame_indices(100, 1, "ssdg"), [6])  # SSDG: 6 + j * floor(N / n)
    np.testing.assert_array_equal(frame_indices(100, 2, "ssdg"), [6, 56])
    np.testing.assert_array_equal(frame_indices(13, 2, "ssdg"), [6, 12])
    with pytest.raises(ValueError, match=r"up to frame 12, past the last of 12 frames.*scheme='uniform'"):
        frame_indices(12, 2, "ssdg")
    with pytest.raises(ValueError, match="at least one frame; got total=0"):
        frame_indices(0, 1)
    with pytest.raises(ValueError, match="positive number of frames to sample, got n=0"):
        frame_indices(5, 0)
    with pytest.raises(ValueError,
                       match=r"unknown frame sampling scheme 'random'; expected one of \('uniform', 'ssdg'\)"):
        frame_indices(5, 1, "random")


def test_read_frames(files):
    video = read_frames(files["live"], [5, 0])
    assert video.shape == (2, 120, 160, 3) and video.dtype == np.uint8
    np.testing.assert_array_equal(video, read_video(files["live"])[[5, 0]])
    photo = read_frames(files["photo"], [0, 3, 7])  # an image: every index is the image
    assert photo.shape == (3, 120, 160, 3) and (photo == photo[0]).all()
    with pytest.raises(ValueError, match=f"{files['corrupt']} cannot be opened as a video; expected a video file"):
        read_frames(files["corrupt"], [0])
    with pytest.raises(ValueError, match="live.avi has 6 frames; frame 9 was asked for"):
        read_frames(files["live"], [0, 9])
    with pytest.raises(FileNotFoundError, match="no video or image file at .*nowhere.avi"):
        read_frames(files["live"].with_name("nowhere.avi"), [0])
    bad_image = files["corrupt"].with_name("bad.jpg")
    bad_image.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="bad.jpg cannot be read as an image"):
        read_frames(bad_image, [0])


def test_prepare_crops_end_to_end(recordings, tmp_path, capsys):
    crops = prepare_crops(recordings, tmp_path, size=SIZE, frames=FRAMES, progress=True)
    assert isinstance(crops, CropSet) and len(crops) == 5
    assert crops.frames.shape == (5, FRAMES, SIZE, SIZE, 3) and crops.frames.dtype == np.uint8
    assert crops.depth.shape == crops.reflection.shape == (5, FRAMES, SIZE // 8, SIZE // 8)
    assert crops.depth.dtype == crops.reflection.dtype == np.float16
    assert crops.video.tolist() == ["toy/live", "toy/attack", "other/photo", "other/boxed", "toy/half"]
    assert crops.label.tolist() == [1, 0, 1, 0, 1] and crops.pai.tolist()[:2] == ["bona_fide", "print_1"]
    assert crops.domain.tolist() == ["toy", "toy", "other", "other", "toy"]
    assert crops.identity.tolist() == [2, 2, 0, 1, 3]  # (dataset, subject) pairs, sorted
    assert (crops.depth == crops.label[:, None, None, None]).all() and not crops.reflection.any()
    assert crops.depth.strides[1:] == (0, 0, 0)  # a broadcast view: no memory
    skipped = dict(crops.skipped)
    assert skipped["toy/corrupt"].startswith("unreadable: ")
    assert "corrupt.avi cannot be opened" in skipped["toy/corrupt"]
    assert skipped["toy/empty"].startswith("no face: the haar detector found no face in any of the 2 sampled frames")
    assert (crops.prepared, crops.cached) == (5, 0)
    report = capsys.readouterr().out
    assert "7 recordings, 5 prepared, 0 loaded from the cache, 2 skipped" in report
    assert "skipped, no face (1): toy/empty" in report and "skipped, unreadable (1): toy/corrupt" in report

    live, attack = crops.frames[0].astype(int), crops.frames[1].astype(int)  # the same frames, in opposite order
    raw = read_frames(recordings[0].path, [0, 5]).astype(int)[:, 14:107, 34:127]  # the face moved 15 px
    assert np.abs(live[0] - live[1]).mean() < 20 < 40 < np.abs(raw[0] - raw[1]).mean()  # aligned, it stays put
    assert np.abs(live[0] - attack[1]).mean() < 20 and (live[1] == attack[0]).mean() > 0.5
    first, last = read_frames(recordings[6].path, [0, 5])  # a face, then noise: the noise is cut at the face's place
    np.testing.assert_array_equal(crops.frames[4, 1], align_face(last, HaarDetector().detect(first)[0], SIZE))

    np.testing.assert_array_equal(crops.select("train"), [0, 1])
    np.testing.assert_array_equal(crops.select(domains="other"), [2, 3])
    np.testing.assert_array_equal(crops.select("dev", ["toy"]), [4])
    with pytest.raises(ValueError, match=r"dataset\(s\) \['oulu'\] are not in these crops"):
        crops.select(domains="oulu")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        crops.select("val")


def test_a_second_call_loads_everything_from_the_cache(recordings, tmp_path):
    first = prepare_crops(recordings, tmp_path, size=SIZE, frames=FRAMES, progress=False)
    detector = CountingDetector()
    again = prepare_crops(recordings, tmp_path, size=SIZE, frames=FRAMES, detector=detector, progress=False)
    assert detector.calls == 0  # nothing detected again, the skipped recordings not retried
    assert (again.prepared, again.cached, len(again.skipped)) == (0, 5, 2)
    np.testing.assert_array_equal(again.frames, first.frames)
    assert isinstance(again.frames, np.memmap) and again.config.key() == first.config.key()


def test_an_interrupted_run_keeps_what_it_did(recordings, tmp_path):
    with pytest.raises(KeyboardInterrupt):  # live: 2 calls, attack: 2, photo: 2, boxed: none, corrupt: none, ...
        prepare_crops(recordings, tmp_path, size=SIZE, frames=FRAMES, detector=CountingDetector(stop_at=6),
                      progress=False)
    assert len(list(tmp_path.glob("*.npy"))) == 2 and not list(tmp_path.glob("*partial*"))
    detector = CountingDetector()
    crops = prepare_crops(recordings, tmp_path, size=SIZE, frames=FRAMES, detector=detector, progress=False)
    assert (crops.prepared, crops.cached, len(crops.skipped)) == (3, 2, 2)
    assert detector.calls == 2 + 2 + 2  # photo, empty and half only


def test_an_interrupted_run_counts_what_it_did_without_a_progress_bar(recordings, tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):  # the bar is disabled (progress=False), as with stderr not a terminal
        prepare_crops(recordings, tmp_path, size=SIZE, frames=FRAMES, detector=CountingDetector(stop_at=6),
                      progress=False)
    assert "interrupted: 2 of 7 recordings cropped and cached" in capsys.readouterr().out


def test_a_replaced_source_file_is_cropped_again(files, tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(files["photo"].read_bytes())
    first = prepare_crops([recording(photo, "toy/photo")], tmp_path / "cache", size=SIZE, frames=1, progress=False)
    flipped = cv2.flip(cv2.imread(str(photo)), 1)  # another picture at the same path
    cv2.imwrite(str(photo), flipped)
    detector = CountingDetector()
    second = prepare_crops([recording(photo, "toy/photo")], tmp_path / "cache", size=SIZE, frames=1,
                           detector=detector, progress=False)
    assert (second.prepared, second.cached) == (1, 0) and detector.calls == 1
    assert not np.array_equal(first.frames, second.frames)


def test_other_settings_give_fresh_crops(recordings, tmp_path):
    prepare_crops(recordings[:2], tmp_path, size=SIZE, frames=FRAMES, progress=False)
    for settings in (dict(size=32, frames=FRAMES), dict(size=SIZE, frames=1),
                     dict(size=SIZE, frames=FRAMES, margin=0.5)):
        detector = CountingDetector()
        crops = prepare_crops(recordings[:2], tmp_path, detector=detector, progress=False, **settings)
        assert crops.prepared == 2 and detector.calls == 2 * settings["frames"]
        assert crops.frames.shape == (2, settings["frames"], settings["size"], settings["size"], 3)
    same = prepare_crops(recordings[:2], tmp_path, size=SIZE, frames=FRAMES, map_size=4, progress=False)
    assert same.cached == 2 and same.depth.shape == (2, FRAMES, 4, 4)  # the maps are not part of the crops


def test_workers_give_the_same_crops(recordings, tmp_path):
    one = prepare_crops(recordings, tmp_path / "one", size=SIZE, frames=FRAMES, progress=False)
    two = prepare_crops(recordings, tmp_path / "two", size=SIZE, frames=FRAMES, workers=2, progress=False)
    np.testing.assert_array_equal(one.frames, two.frames)
    assert one.skipped == two.skipped


def test_the_course_datasets_read_crops_unchanged(recordings, tmp_path, monkeypatch):
    monkeypatch.setenv("FASLEARN_CACHE", str(tmp_path / "course"))
    crops = prepare_crops(recordings, tmp_path, size=SIZE, frames=FRAMES, progress=False)
    bench = make_benchmark(domains=("studio",), identities_per_domain=3, num_frames=FRAMES, image_size=SIZE,
                           map_size=SIZE // 8, cache=False, workers=1, progress=False)
    for dataset_class in (FrameDataset, ClipDataset):
        ours, theirs = dataset_class(crops, crops.select("train"))[1], dataset_class(bench, bench.select("train"))[1]
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert type(ours[key]) is type(theirs[key]), key
            if hasattr(ours[key], "shape"):
                assert (ours[key].shape, ours[key].dtype) == (theirs[key].shape, theirs[key].dtype), key
    assert len(FrameDataset(crops, crops.select("train"))) == 2 * FRAMES
    prepared = prepare_clips(crops, 1, progress=False)  # the two-stream notebook's path: key frames of the crops
    clip = ClipDataset(crops, crops.select(), prepared=prepared)[0]["clip"]
    assert clip.shape == (2, 3, SIZE, SIZE) and prepared.frames.shape == (5, 2, SIZE, SIZE, 3)


def test_bad_calls(recordings, tmp_path):
    with pytest.raises(ValueError,
                       match=r"unknown face detector 'dlib'; expected one of \['haar', 'mediapipe', 'mtcnn'\]"):
        prepare_crops(recordings, tmp_path, detector="dlib")
    with pytest.raises(ValueError, match="video id 'toy/live' appears more than once"):
        prepare_crops(recordings[:1] * 2, tmp_path)
    with pytest.raises(ValueError, match="unknown frame sampling scheme"):
        prepare_crops(recordings, tmp_path, scheme="every")
    with pytest.raises(ValueError, match="expected size >= 16"):
        prepare_crops(recordings, tmp_path, size=8)
    with pytest.raises(ValueError, match="expected at least one recording"):
        prepare_crops([], tmp_path)
    with pytest.raises(ValueError, match=r"none of the 2 recordings gave a face crop .*first reason: unreadable"):
        prepare_crops(recordings[4:6], tmp_path, size=SIZE, frames=FRAMES, progress=False)
    with pytest.raises(ValueError,
                       match=r"none of the 1 recordings gave a face crop .*too short: .*live.avi: scheme 'ssdg'"):
        prepare_crops(recordings[:1], tmp_path, size=SIZE, frames=FRAMES, scheme="ssdg", progress=False)
