"""Face detection and alignment on real photos: the astronaut (skimage) and Grace Hopper (matplotlib)."""
import pickle

import cv2
import matplotlib.cbook
import numpy as np
import pytest
from skimage import data

from faslearn.data.real.align import (
    DETECTORS,
    Face,
    FaceDetector,
    HaarDetector,
    NoFaceError,
    align_face,
    detect_and_align,
    eye_template,
    face_transform,
    get_detector,
)


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()  # 512 x 512, one frontal face, Haar box about (177, 66, 95, 95)


@pytest.fixture(scope="module")
def hopper():
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)  # 600 x 512, glasses


def rotated(image, degrees):
    """``image`` rotated by ``degrees`` counter-clockwise about its centre, borders replicated."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def tilt(face: Face) -> float:
    """Angle of the line from the left eye to the right eye, in degrees (0 = level, positive = clockwise)."""
    (lx, ly), (rx, ry) = face.eyes
    return float(np.degrees(np.arctan2(ry - ly, rx - lx)))


def test_haar_finds_the_astronaut_and_her_eyes(astronaut):
    faces = HaarDetector().detect(astronaut)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert abs(x - 177) < 8 and abs(y - 66) < 8 and abs(w - 95) < 10 and abs(h - 95) < 10
    (lx, ly), (rx, ry) = faces[0].eyes
    assert x < lx < x + w / 2 < rx < x + w and y < ly < y + h / 2 and y < ry < y + h / 2
    assert abs(tilt(faces[0])) < 5


@pytest.mark.parametrize("size", [256, 112, 64])
def test_aligned_eyes_land_on_the_template(astronaut, size):
    crop, face = detect_and_align(astronaut, size)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    matrix = face_transform(face, size)
    moved = np.array(face.eyes) @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(moved, eye_template(size), atol=1e-6)
    np.testing.assert_allclose(eye_template(256), [[89.6, 102.4], [166.4, 102.4]])  # (0.35, 0.40), (0.65, 0.40)


def test_detecting_again_on_the_crop_finds_the_eyes_on_the_template(astronaut):
    crop, _ = detect_and_align(astronaut, 256)
    again = HaarDetector().detect(crop)
    assert again and again[0].eyes is not None
    assert np.abs(np.array(again[0].eyes) - eye_template(256)).max() < 6


@pytest.mark.parametrize("degrees", [15, -15])
def test_a_rotated_face_is_turned_upright(astronaut, degrees):
    image = rotated(astronaut, degrees)
    crop, face = detect_and_align(image, 256)
    assert abs(tilt(face)) > 8  # found tilted (counter-clockwise rotation lifts the right eye)
    assert np.sign(tilt(face)) == -np.sign(degrees)
    again = HaarDetector().detect(crop)
    assert again and again[0].eyes is not None and abs(tilt(again[0])) < 4


def test_grace_hopper_aligns_with_or_without_eyes(hopper):
    crop, face = detect_and_align(hopper, 128)
    assert crop.shape == (128, 128, 3)
    x, y, w, h = face.box
    assert 120 < x < 200 and 70 < y < 150 and 180 < w < 280  # Haar: about (149, 100, 231, 231)
    no_eyes = align_face(hopper, Face(face.box, None, face.score), 128)
    assert HaarDetector().detect(no_eyes)  # the box crop still holds the whole face


def test_box_crop_is_centred_and_replicates_the_border():
    image = np.zeros((100, 100, 3), np.uint8)
    image[40:60, 40:60] = 255  # a white square, the "face"
    crop = align_face(image, Face((40, 40, 20, 20), None, 1.0), 26, margin=0.3)
    assert crop[13, 13].tolist() == [255, 255, 255] and crop[0, 0].tolist() == [0, 0, 0]
    assert crop[3:23, 3:23].min() == 255 and crop[1:25, 1:25].mean() < 255  # 20 px of face, 3 px either side
    edge = np.zeros((50, 50, 3), np.uint8)
    edge[:, :10] = 200  # a face box at the left edge: the crop reaches outside the image
    crop = align_face(edge, Face((0, 10, 30, 30), None, 1.0), 39, margin=0.3)  # side 39 px, 4.5 px outside
    assert crop[:, :4].min() == 200  # the border column, repeated


def test_large_downscale_averages_instead_of_aliasing():
    stripes = np.zeros((800, 800, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: sampled sparsely they alias to black or white
    crop = align_face(stripes, Face((0, 0, 800, 800), None, 1.0), 40, margin=0.0)
    assert abs(float(crop[5:-5, 5:-5].mean()) - 127.5) < 3 and crop[5:-5, 5:-5].std() < 3


def test_no_face(astronaut):
    with pytest.raises(NoFaceError, match="haar detector found no face in the 64x48 image"):
        detect_and_align(np.full((48, 64, 3), 128, np.uint8), 64)
    assert HaarDetector().detect(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)) == []


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"expected an RGB image, uint8 of shape \(H, W, 3\); got float64"):
        HaarDetector().detect(np.zeros((32, 32, 3)))
    with pytest.raises(ValueError, match="is empty"):
        align_face(np.zeros((32, 32, 3), np.uint8), Face((0, 0, 0, 10), None, 1.0), 16)
    with pytest.raises(ValueError, match="one point"):
        align_face(np.zeros((32, 32, 3), np.uint8), Face((0, 0, 9, 9), ((3, 3), (3, 3)), 1.0), 16)


def test_detector_registry():
    assert set(DETECTORS) == {"haar", "mediapipe", "mtcnn"}
    detector = get_detector("haar")
    assert isinstance(detector, HaarDetector) and get_detector(detector) is detector
    assert isinstance(pickle.loads(pickle.dumps(detector)), HaarDetector)  # goes to worker processes
    with pytest.raises(ValueError,
                       match=r"unknown face detector 'dlib'; expected one of \['haar', 'mediapipe', 'mtcnn'\]"):
        get_detector("dlib")


@pytest.mark.parametrize("name, module, install", [
    ("mediapipe", "mediapipe", "pip install --no-deps mediapipe==0.10.21"),
    ("mtcnn", "facenet_pytorch", "pip install --no-deps facenet-pytorch==2.6.0")])
def test_optional_backends_say_how_to_install(name, module, install, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def missing(what, *args, **kwargs):
        if what.split(".")[0] == module:
            raise ImportError(f"No module named {module!r}")
        return real_import(what, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", missing)
    with pytest.raises(ImportError, match=install):
        get_detector(name)


@pytest.mark.parametrize("name, module", [("mediapipe", "mediapipe"), ("mtcnn", "facenet_pytorch")])
def test_optional_backends_align_the_astronaut(name, module, astronaut):
    pytest.importorskip(module)
    detector = get_detector(name)
    assert isinstance(detector, FaceDetector) and detector.name == name
    faces = pickle.loads(pickle.dumps(detector)).detect(astronaut)
    assert faces and faces[0].eyes is not None and faces[0].score > 0.5
    crop, _ = detect_and_align(astronaut, 128, detector)
    again = detector.detect(crop)
    assert np.abs(np.array(again[0].eyes) - eye_template(128)).max() < 5
    assert detector.detect(np.full((64, 64, 3), 128, np.uint8)) == []
