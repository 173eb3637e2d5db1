"""Clips: reading videos, registration by homography, key frames, optical flow."""
import cv2
import numpy as np
import pytest

from faslearn.data import clips
from faslearn.data.clips import (
    check_clip,
    frame_differences,
    key_frames,
    optical_flow,
    read_video,
    register_clip,
    registration_residual,
)


def textured_frame(size: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth random colour texture with a few sharp shapes: corners to track, gradients for flow."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size, size, 3)).astype(np.float32)
    image = cv2.GaussianBlur(noise, (0, 0), 2.0)
    image = (image - image.mean()) * 4 + 128  # blurring shrinks the contrast; stretch it back
    for _ in range(6):
        x, y = rng.integers(0, size - 16, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.rectangle(image, (int(x), int(y)), (int(x) + 12, int(y) + 9), colour, -1)
    return np.clip(image, 0, 255).astype(np.uint8)


def small_homography(size: int, angle: float, shift, perspective: float) -> np.ndarray:
    """Rotation by ``angle`` degrees about the centre, a shift in pixels and a slight perspective."""
    rotation = np.vstack([cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0), [0, 0, 1]])
    rotation[:2, 2] += shift
    rotation[2, :2] = perspective, -perspective
    return rotation


def warped_clip(size: int = 96):
    """Frame 0 and copies of it warped by known small homographies (frame 0 → frame t)."""
    first = textured_frame(size)
    moves = [np.eye(3), small_homography(size, 3, (2, 0), 0), small_homography(size, -2, (-1, 2), 1e-4),
             small_homography(size, 1, (2, -2), -1e-4), small_homography(size, -3, (0, 1), 5e-5)]
    frames = [cv2.warpPerspective(first, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
              for m in moves]
    return np.stack(frames), np.stack(moves)


def test_register_clip_recovers_known_homographies():
    frames, moves = warped_clip()
    result = register_clip(frames)
    assert result.frames.shape == frames.shape and result.frames.dtype == np.uint8
    assert result.homographies.shape == (5, 3, 3) and not result.fallback.any()
    assert (result.inliers[1:] >= 20).all()
    # H_t maps frame t back to frame 0, so H_t · move_t sends points of frame 0 back onto themselves
    grid = np.stack(np.meshgrid(np.linspace(16, 80, 5), np.linspace(16, 80, 5)), -1).reshape(-1, 1, 2)
    for homography, move in zip(result.homographies, moves):
        round_trip = cv2.perspectiveTransform(grid, homography @ move)
        assert np.abs(round_trip - grid).max() < 0.2  # pixels
    centre = slice(16, 80)
    error = np.abs(result.frames[:, centre, centre].astype(float) - frames[0, centre, centre]).mean()
    assert error < 3  # grey levels: interpolation only
    before, after = registration_residual(frames), registration_residual(result.frames)
    assert before.shape == after.shape == (4,)
    assert after.mean() < before.mean() / 3


def test_register_clip_with_own_anchors_box_and_size():
    frames, _ = warped_clip()
    corners = cv2.goodFeaturesToTrack(cv2.cvtColor(frames[0], cv2.COLOR_RGB2GRAY), 100, 0.01, 3)[:, 0]
    result = register_clip(frames, anchors=corners, box=(16, 16, 64, 64), size=32)
    assert result.frames.shape == (5, 32, 32, 3) and not result.fallback.any()
    reference = cv2.resize(frames[0, 16:80, 16:80], (32, 32), interpolation=cv2.INTER_AREA)
    assert np.abs(result.frames.astype(float) - reference).mean() < 3
    with pytest.raises(ValueError, match=r"box .* must lie inside the 96x96 frame"):
        register_clip(frames, box=(50, 50, 64, 64))


def test_identical_frames_register_by_identity():
    frames = np.stack([textured_frame(64)] * 4)
    result = register_clip(frames)
    np.testing.assert_allclose(result.homographies, np.tile(np.eye(3), (4, 1, 1)), atol=1e-3)
    assert not result.fallback.any()
    np.testing.assert_array_equal(result.frames, frames)


def test_textureless_clip_falls_back_to_identity():
    frames = np.full((3, 32, 32, 3), 120, np.uint8)
    result = register_clip(frames)
    assert result.fallback.tolist() == [False, True, True] and (result.inliers == 0).all()
    np.testing.assert_array_equal(result.homographies, np.tile(np.eye(3), (3, 1, 1)))
    np.testing.assert_array_equal(result.frames, frames)


def test_key_frames_follow_the_difference_deviation():
    rng = np.random.default_rng(1)
    frames = np.clip(textured_frame(32) + rng.normal(0, 2, (12, 32, 32, 3)), 0, 255).astype(np.uint8)
    # k = 3 stacks of frames 1-4, 5-8, 9-11; a sudden change in stack 1 becomes the new onset, and
    # in stack 3 frame 9 differs from it by more than its neighbours do
    frames[2, :10] = 255 - frames[2, :10]
    frames[9, 16:] = 255 - frames[9, 16:]
    chosen = key_frames(frames, k=3)
    assert len(chosen) == 4 and chosen[0] == 0 and chosen[1] == 2 and chosen[3] == 9
    assert (np.diff(chosen) > 0).all()
    for k in (1, 5, 11):
        chosen = key_frames(frames, k)
        assert len(np.unique(chosen)) == k + 1 and chosen[0] == 0 and (np.diff(chosen) > 0).all()


def test_key_frames_of_too_short_a_clip_is_a_clear_error():
    with pytest.raises(ValueError, match=r"a clip of 5 frames cannot give 9\+1 key frames"):
        key_frames(np.zeros((5, 8, 8, 3), np.uint8), k=9)


def test_check_clip_names_the_shape_it_got():
    with pytest.raises(ValueError, match=r"got uint8 of shape \(4, 8, 8\)"):
        check_clip(np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"got float32 of shape \(4, 8, 8, 3\)"):
        check_clip(np.zeros((4, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"T >= 2"):
        check_clip(np.zeros((1, 8, 8, 3), np.uint8))


def test_frame_differences_consecutive_and_from_a_reference():
    frames = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (10, 15, 5)])
    assert frame_differences(frames)[:, 0, 0, 0].tolist() == [5, -10]
    assert frame_differences(frames, reference=frames[0])[:, 0, 0, 0].tolist() == [0, 5, -5]


def write_video(path, frames, fps=10):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, frames.shape[2:0:-1])
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_read_video_round_trip_and_sampling(tmp_path):
    frames = np.stack([np.roll(textured_frame(48), 3 * t, axis=1) for t in range(9)])
    frames[:, :8] = np.arange(9)[:, None, None, None] * 25  # a flat band whose grey level numbers the frame
    path = tmp_path / "clip.avi"
    write_video(path, frames)
    video = read_video(path)
    assert video.shape == frames.shape and video.dtype == np.uint8
    assert np.abs(video.astype(float) - frames).mean() < 12  # MJPG is lossy and halves the colour resolution
    sampled = read_video(path, num_frames=5)
    np.testing.assert_allclose(sampled[:, 2:6, 10].mean(axis=(1, 2)), [0, 50, 100, 150, 200], atol=4)
    assert read_video(path, num_frames=3, size=24).shape == (3, 24, 24, 3)
    assert read_video(path, size=(32, 16)).shape == (9, 16, 32, 3)


def test_read_video_errors_name_the_file(tmp_path):
    path = tmp_path / "short.avi"
    write_video(path, np.stack([textured_frame(32)] * 7))
    with pytest.raises(ValueError, match=r"short.avi has 7 frames, 10 requested"):
        read_video(path, num_frames=10)
    with pytest.raises(FileNotFoundError, match="no video file at .*missing.avi"):
        read_video(tmp_path / "missing.avi")
    fake = tmp_path / "notes.avi"
    fake.write_text("this is not a video\n")
    with pytest.raises(ValueError, match=r"notes.avi cannot be opened as a video"):
        read_video(fake)


def test_read_video_rejects_frames_of_changing_size(tmp_path, monkeypatch):
    class ChangingCapture:  # cv2.VideoWriter cannot write such a video, so fake the decoder
        def __init__(self, path):
            self.shapes = [(16, 16, 3), (16, 16, 3), (8, 16, 3)]

        def isOpened(self):
            return True

        def read(self):
            return (True, np.zeros(self.shapes.pop(0), np.uint8)) if self.shapes else (False, None)

        def release(self):
            pass

    path = tmp_path / "odd.avi"
    path.write_bytes(b"")
    monkeypatch.setattr(clips.cv2, "VideoCapture", ChangingCapture)
    with pytest.raises(ValueError, match=r"odd.avi: frame 2 is 16x8, frame 0 was 16x16"):
        read_video(path)


@pytest.mark.parametrize("method", clips.FLOW_METHODS)
def test_optical_flow_of_a_shift(method):
    first = textured_frame(64)
    shifted = np.roll(first, 3, axis=1)  # content moves 3 px right: flow (3, 0)
    flow = optical_flow(np.stack([first, shifted, np.roll(shifted, 3, axis=1)]), method=method)
    assert flow.shape == (2, 64, 64, 2) and flow.dtype == np.float32
    inner = flow[:, 8:-8, 8:-8].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, axis=0), [3, 0], atol=0.5)


def test_optical_flow_unknown_method():
    with pytest.raises(ValueError, match=r"unknown optical flow method 'tvl1'; expected one of \('dis', 'farneback'\)"):
        optical_flow(np.zeros((2, 8, 8, 3), np.uint8), method="tvl1")
