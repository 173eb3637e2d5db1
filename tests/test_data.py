"""The offline data: faces, depth labels, camera, attack media, pseudo-videos, the benchmark."""
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import faslearn as fl
from faslearn.data import (
    ATTACKS,
    BONA_FIDE,
    DOMAINS,
    PRESENTATIONS,
    Camera,
    ClipDataset,
    FlipShift,
    FrameDataset,
    benchmark_identities,
    capture,
    depth_map,
    load_faces,
    make_benchmark,
    pose_landmarks,
    prepare_clips,
    rasterize,
    register_face,
    registration_residual,
    render_presentation,
    rigid_landmarks,
    warp_face,
)
from faslearn.data.world.attacks import PrintInstrument, colour_moire, halftone, print_medium, subpixel_mask
from faslearn.data.world.domains import harden
from faslearn.data.world.faces import mesh_topology
from faslearn.data.world.simulator import _furnish, medium_scale
from faslearn.data.world.video import plane_homography


@pytest.fixture(scope="module")
def faces():
    return load_faces("synthetic", count=6)


def test_synthetic_faces_are_many_distinct_colour_identities():
    full = load_faces("synthetic")
    assert len(full) >= 600 and full.images.shape[1:] == (64, 64, 3) and full.images.dtype == np.uint8
    assert full.landmarks.shape[1:] == (478, 3)
    flat = full.images[:200].reshape(200, -1).astype(np.float32)
    flat = (flat - flat.mean(1, keepdims=True)) / flat.std(1, keepdims=True)
    correlation = flat @ flat.T / flat.shape[1]
    np.fill_diagonal(correlation, 0)
    assert correlation.max() < 0.97  # no near-duplicates among the first 200
    colourfulness = np.abs(full.images[..., 0].astype(int) - full.images[..., 2]).mean()
    assert colourfulness > 5


def test_photos_load_from_installed_packages_with_landmarks_inside_the_crop():
    photos = load_faces("photos", size=96)
    assert "astronaut" in photos.names and "grace_hopper" in photos.names and len(photos) > 50
    assert photos.images.shape[1:] == (96, 96, 3)
    assert (photos.landmarks[..., :2] > -5).all() and (photos.landmarks[..., :2] < 101).all()


def test_bad_face_requests_have_clear_errors():
    with pytest.raises(ValueError, match="unknown face source 'celeba'"):
        load_faces("celeba")
    with pytest.raises(ValueError, match="count must be in 1..800"):
        load_faces("synthetic", count=5000)


def test_rasterize_matches_brute_force_barycentric_test():
    # Two triangles at different depths overlapping: the nearer one (smaller z) must win.
    points = np.array([[2, 2, 5], [14, 3, 5], [4, 14, 5], [3, 3, -5], [12, 12, -5], [3, 12, -5]], np.float32)
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    ids, bary = rasterize(points, 16, triangles)
    for y in range(16):
        for x in range(16):
            p = np.array([x + 0.5, y + 0.5])
            cross = lambda u, v: u[0] * v[1] - u[1] * v[0]  # noqa: E731
            margins = []  # signed distance (px) from the pixel centre to each triangle's boundary
            for corners in points[triangles][..., :2]:
                area_sign = np.sign(cross(corners[1] - corners[0], corners[2] - corners[0]))
                margins.append(min(area_sign * cross(corners[(i + 1) % 3] - corners[i], p - corners[i])
                                   / np.linalg.norm(corners[(i + 1) % 3] - corners[i]) for i in range(3)))
            if any(abs(m) < 0.75 for m in margins):
                continue  # within a pixel of an edge: the polygon filler may go either way
            inside = [t for t, m in enumerate(margins) if m > 0]
            assert ids[y, x] == (max(inside) if inside else -1), (x, y)  # triangle 1 is the nearer
            if inside:
                assert bary[y, x].sum() == pytest.approx(1, abs=1e-5)


def test_depth_map_is_brightest_at_the_nose_and_zero_off_the_face(faces):
    _, landmarks = faces[0]
    depth = depth_map(landmarks, 64, 64)
    assert depth.shape == (64, 64) and depth.dtype == np.float32
    assert depth[0, 0] == 0 and 0.9 < depth.max() <= 1.0
    nose_x, nose_y = landmarks[1, :2]  # FaceMesh vertex 1 is the nose tip
    y, x = np.unravel_index(depth.argmax(), depth.shape)
    assert abs(x + 0.5 - nose_x) < 4 and abs(y + 0.5 - nose_y) < 4
    assert depth_map(landmarks, 64).shape == (8, 8)  # CDCN's 1/8 ratio by default
    with pytest.raises(ValueError, match=r"shape \(V, 3\)"):
        depth_map(landmarks[:, :2], 64)


def test_mesh_closes_eyes_and_mouth():
    topology = mesh_topology()
    assert topology["triangles"].shape[1] == 3 and topology["triangles"].max() < 478
    for loop in ("left_eye", "right_eye", "mouth"):
        assert set(topology[loop]) <= set(topology["triangles"].ravel())


def test_camera_keeps_a_flat_colour_exposed_to_mid_gray_and_adds_noise():
    rng = np.random.default_rng(0)
    colour = np.array([0.5, 0.25, 0.1], np.float32)
    radiance = np.ones((128, 128, 3), np.float32) * colour
    steady = Camera(flare=0, white_balance_error=0, exposure_jitter=0, saturation_jitter=0, auto_contrast=0,
                    jpeg_quality=(100, 100))  # nothing drawn per capture but the noise
    image = capture(radiance, steady, 32, rng)
    bayer_mean = (colour[0] + 2 * colour[1] + colour[2]) / 4  # RGGB: green counted twice
    expected = np.power(colour * 0.18 / bayer_mean, 1 / 2.2) * 255
    dim = capture(radiance * 0.2, steady, 32, rng)  # same picture, more noise
    assert abs(dim.mean() - image.mean()) < 3 and dim[4:-4, 4:-4, 1].std() > image[4:-4, 4:-4, 1].std()
    assert np.allclose(image[4:-4, 4:-4].reshape(-1, 3).mean(0), expected, atol=3)
    assert image[4:-4, 4:-4, 1].std() > 0.5  # sensor noise is there
    with pytest.raises(ValueError, match="square"):
        capture(radiance[:, :100], Camera(), 32, rng)


def test_a_clip_keeps_its_camera_settings_while_every_frame_gets_new_noise():
    radiance = np.random.default_rng(0).uniform(0.1, 0.6, (128, 128, 3)).astype(np.float32)
    camera = Camera(exposure_jitter=0.3, white_balance_error=0.1)  # settings that vary a lot per capture
    rng = np.random.default_rng(1)
    clip = {}
    frames = np.stack([capture(radiance, camera, 32, rng, clip=clip) for _ in range(4)]).astype(np.float32)
    singles = np.stack([capture(radiance, camera, 32, rng) for _ in range(4)]).astype(np.float32)
    assert not np.array_equal(frames[0], frames[1])  # fresh sensor noise in every frame ...
    # ... under one exposure and white balance: the frames' colour means move by noise only
    assert frames.mean((1, 2)).std(0).max() < 0.2 * singles.mean((1, 2)).std(0).max()
    assert set(clip) >= {"exposure", "white_balance", "jpeg_quality"}


def test_clip_frames_hold_one_scene(faces):
    """Without motion, consecutive frames differ by noise, shake and flicker only: the room, the light,
    the replayed video, the skin and the camera's settings hold over the clip."""
    image, landmarks = faces[1]
    for pai in PRESENTATIONS:
        clip = render_presentation(image, landmarks, pai, "office", np.random.default_rng(5), num_frames=3, motion=0.0)
        change = np.abs(np.diff(clip.frames.astype(np.float32), axis=0)).mean()
        assert change < 12, (pai, change)  # a scene re-drawn per frame changes by 20-35 grey levels


def test_halftone_dot_area_follows_ink_coverage():
    rng = np.random.default_rng(0)
    for coverage in (0.2, 0.5, 0.8):
        dots = halftone(np.full((256, 256), coverage, np.float32), 4.0, np.deg2rad(15), rng)
        assert abs(dots.mean() - coverage) < 0.12


def test_print_reflectance_follows_the_printed_photo():
    rng = np.random.default_rng(0)
    content = np.zeros((128, 128, 3), np.float32)
    content[:, 64:] = 0.9
    reflectance, specular = print_medium(content, PrintInstrument(bend=0.0, gloss=0.0), rng, period=4.0)
    assert reflectance[:, 70:].mean() > 4 * reflectance[:, :58].mean()
    assert specular.max() == 0


def test_a_colour_managed_print_shows_a_gray_ramp_in_proportion_down_to_its_lifted_black():
    printer = PrintInstrument(dot_gain=0.0, saturation=1.0, paper_white=(1.0, 1.0, 1.0), paper_texture=0.0, bend=0.0)
    linear = np.linspace(0, 1, 9, dtype=np.float32)
    ramp = np.repeat(np.repeat(linear ** (1 / 2.2), 16)[None, :, None], 144, axis=0).repeat(3, axis=2)  # 9 gray bars

    def bars(colour_managed):  # one column inside each bar
        reflectance, _ = print_medium(ramp, printer, np.random.default_rng(0), period=4.0, visibility=0.0,
                                      colour_managed=colour_managed)
        return reflectance[:, 4::16, 1].mean(axis=0)

    black = (1 - printer.ink_absorption) * (1 - printer.ink_absorption * printer.black_ink)
    np.testing.assert_allclose(bars(True), black + (1 - black) * linear, atol=0.005)
    assert 0.03 < black < 0.05  # the densest black the inks reach: density 1.4
    assert bars(False)[4] < 0.85 * bars(True)[4]  # uncalibrated, a mid-gray prints too dark (0.41 for 0.52)


def test_rooms_get_objects_as_the_domain_is_cluttered_and_a_texture_of_varying_strength():
    wall = np.full((128, 128, 3), 0.3, np.float32)

    def furnished(clutter, seed):
        rng = np.random.default_rng(seed)
        return [_furnish(wall, replace(DOMAINS["office"], clutter=clutter), 1.0, rng) for _ in range(40)]

    def objects(rooms):  # the texture averages out under a blur; objects (and their edges) do not
        return np.median([np.abs(cv2.GaussianBlur(room, (0, 0), 3) - 0.3).max() for room in rooms])

    assert objects(furnished(3.0, 0)) > 3 * objects(furnished(0.0, 0))
    texture = [np.abs(np.diff(room[..., 1], axis=1)).mean() for room in furnished(0.0, 1)]
    assert np.ptp(texture) > 3 * min(texture)  # plain walls and busy wallpaper


def test_furniture_changes_the_room_around_a_face_more_than_the_face(faces):
    """Same draws with and without furniture: the rooms differ, the person much less (only through the
    camera's exposure and white balance, which see the whole frame)."""
    ring, centre = [], []
    for seed in range(6):
        image, landmarks = faces[seed]
        bare, furnished = (render_presentation(image, landmarks, BONA_FIDE, "outdoor", np.random.default_rng(seed),
                                               clutter=clutter).frames[0].astype(np.float32) for clutter in (0, 1))
        difference = np.abs(furnished - bare)
        ring.append(np.concatenate([difference[:8].ravel(), difference[-8:].ravel()]).mean())
        centre.append(difference[24:40, 24:40].mean())
    assert np.median(ring) > 3 * np.median(centre) and np.median(ring) > 1.5


def test_inkjet_banding_varies_the_ink_from_row_to_row_only():
    rng = np.random.default_rng(0)
    content = np.full((128, 128, 3), 0.5, np.float32)
    flat = dict(bend=0.0, gloss=0.0, paper_texture=0.0)
    laser, _ = print_medium(content, PrintInstrument(**flat), rng, period=0.5, visibility=0.0)
    inkjet, _ = print_medium(content, PrintInstrument(banding=0.08, **flat), rng, period=0.5, visibility=0.0)
    rows, columns = inkjet[..., 1].mean(axis=1), inkjet[..., 1].mean(axis=0)
    assert rows.std() > 5 * columns.std() and laser[..., 1].mean(axis=1).std() < 1e-6


def test_sharp_cameras_see_a_replay_near_the_sensor_pitch_where_moire_forms():
    for domain in ("studio", "outdoor"):
        visible = [max(row["visibility"]) for row in medium_scale(domain) if row["pai"].startswith("replay")]
        assert max(visible) > 0.2, domain
    assert all(max(row["visibility"]) < 0.05 for row in medium_scale("studio") if row["pai"] == "print_1")


def test_subpixel_mask_has_unit_mean_and_a_spectral_peak_at_the_pixel_pitch():
    pitch, size = 4.0, 256
    mask = subpixel_mask(size, pitch, 0.8)
    assert np.allclose(mask.mean(axis=(0, 1)), 1, atol=1e-3)
    spectrum = np.abs(np.fft.rfft(mask[:, :, 0].mean(axis=0) - 1))
    assert spectrum.argmax() == size / pitch  # frequency bin of one cycle per screen pixel


def test_colour_moire_moves_green_against_magenta_at_its_period():
    size, period, angle = 96, 8.0, np.deg2rad(90.0)  # wave vector along y: horizontal fringes
    fringes = colour_moire(size, period, angle, contrast=0.2, phase=0.0)
    assert np.allclose(fringes.mean(axis=2), 1, atol=1e-6)  # the grey level is untouched
    assert np.allclose(fringes.mean(axis=(0, 1)), 1, atol=1e-4)
    green = fringes[..., 1] - 1
    assert np.allclose(green.std(axis=1), 0, atol=1e-6) and np.isclose(np.ptp(green), 0.4, atol=1e-3)
    assert np.allclose(fringes[..., 0] - 1, -green / 2, atol=1e-6)
    assert np.abs(np.fft.rfft(green[:, 0])).argmax() == size / period


def _fringes_of(faces, pai, domain, seed=0, **kwargs):
    """The frames of one capture with its domain's colour moire minus the same capture without it."""
    image, landmarks = faces[seed % len(faces)]
    plain, fringed = (render_presentation(image, landmarks, pai, domain, np.random.default_rng(seed), difficulty=1.0,
                                          moire=strength, **kwargs).frames.astype(np.float32) for strength in (0, 1))
    return fringed - plain


@pytest.mark.parametrize("domain", ["studio", "night"])
def test_moire_adds_fringes_to_flat_media_at_the_domains_period_and_orientation(faces, domain):
    spec, camera = DOMAINS[domain].moire, DOMAINS[domain].camera
    shortest, longest = (spec.period[0] * 64 / camera.face_pixels[1], spec.period[1] * 64 / camera.face_pixels[0])
    for seed, pai in enumerate(("print_1", "replay_2", "partial_eyes")):
        green = _fringes_of(faces, pai, domain, seed)[0][..., 1]
        spectrum = np.abs(np.fft.fft2(green - green.mean()))[:, :33]  # non-negative x frequencies
        fy, fx = np.unravel_index(spectrum.argmax(), spectrum.shape)
        fy = fy - 64 if fy > 32 else fy
        angle, period = np.rad2deg(np.arctan2(fy, fx)) % 180, 64 / np.hypot(fy, fx)
        assert green.std() > 1.0, pai
        assert min(abs(angle - spec.angle), 180 - abs(angle - spec.angle)) < spec.angle_spread + 10, (pai, angle)
        assert 0.85 * shortest < period < 1.15 * longest, (pai, period)


def test_moire_leaves_live_faces_and_masks_alone_and_drifts_between_frames(faces):
    for pai in (BONA_FIDE, "mask_3d"):
        assert not _fringes_of(faces, pai, "office").any(), pai
    difference = _fringes_of(faces, "replay_1", "office", num_frames=2)
    assert np.abs(difference[0] - difference[1]).mean() > 0.5  # the beat moves from frame to frame


def test_harden_moves_flaws_towards_invisible():
    printer = PrintInstrument(saturation=0.6, paper_texture=0.1)
    assert harden(printer, 0.0) == printer
    assert harden(printer, 1.0).saturation == 1.0 and harden(printer, 1.0).paper_texture == 0.0
    with pytest.raises(ValueError, match="difficulty"):
        harden(printer, 1.5)


def test_head_turn_moves_the_nose_more_than_the_face_outline(faces):
    _, landmarks = faces[0]
    assert np.allclose(pose_landmarks(landmarks, frame_size=64), landmarks, atol=1e-4)
    turned = pose_landmarks(landmarks, yaw=10, frame_size=64)
    shift = np.abs(turned[:, 0] - landmarks[:, 0])
    outline = mesh_topology()["face_oval"]
    assert shift[1] > 1.5 * np.median(shift[outline])  # motion parallax


def test_blink_closes_the_eyes(faces):
    _, landmarks = faces[0]
    loop = mesh_topology()["left_eye"]
    closed = pose_landmarks(landmarks, blink=1.0, frame_size=64)

    def area(points):  # shoelace formula over the eye contour
        x, y = points[loop, 0], points[loop, 1]
        return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))

    assert area(closed) < 0.3 * area(landmarks)


def test_warp_to_the_same_pose_keeps_the_image(faces):
    image, landmarks = faces[0]
    same = warp_face(image, landmarks, landmarks)
    assert np.abs(same.astype(int) - image).mean() < 2.0


def test_plane_homography_is_identity_at_rest_and_rigid_otherwise():
    assert np.allclose(plane_homography(64), np.eye(3), atol=1e-6)
    h = plane_homography(64, yaw=5, roll=2)
    assert not np.allclose(h, np.eye(3))


@pytest.mark.parametrize("pai", (BONA_FIDE,) + ATTACKS)
def test_every_presentation_renders_with_its_labels(faces, pai):
    image, landmarks = faces[1]
    p = render_presentation(image, landmarks, pai, "office", np.random.default_rng(3), num_frames=3)
    assert p.frames.shape == (3, 64, 64, 3) and p.frames.dtype == np.uint8
    assert p.depth.shape == p.reflection.shape == (3, 16, 16)  # maps at 1/4 of the image
    assert p.label == int(pai == BONA_FIDE) and p.pai == pai and p.domain == "office"
    if pai == BONA_FIDE:
        assert p.depth.max() > 0.5 and p.reflection.max() == 0
    else:
        assert p.depth.max() == 0
    again = render_presentation(image, landmarks, pai, "office", np.random.default_rng(3), num_frames=3)
    assert np.array_equal(p.frames, again.frames)  # deterministic under a seed


@pytest.mark.parametrize("pai", ("print_1", "replay_1", BONA_FIDE, "partial_eyes"))
def test_the_landmarks_a_presentation_reports_anchor_its_registration(faces, pai):
    """Frame 0's landmarks are where the face is: registering on its upper face (``rigid_landmarks``) takes
    most of the motion out of the face's box (scripts/compare_registration.py compares it with whole-crop
    corners over a whole benchmark)."""
    ratios = []
    for seed in range(3):
        image, landmarks = faces[seed]
        p = render_presentation(image, landmarks, pai, "studio", np.random.default_rng(seed), num_frames=6)
        assert p.landmarks.shape == (478, 2) and p.landmarks.dtype == np.float32
        assert ((p.landmarks >= 0) & (p.landmarks < 64)).all(axis=1).mean() > 0.8  # a print may cut off a chin
        (x0, y0), (x1, y1) = (np.clip(p.landmarks.min(0), 0, 63).astype(int),
                              np.clip(p.landmarks.max(0), 1, 64).astype(int))
        anchored = register_face(p.frames, p.landmarks[rigid_landmarks(p.landmarks)]).frames
        before, after = (registration_residual(frames[:, y0:y1, x0:x1]).mean() for frames in (p.frames, anchored))
        ratios.append(after / before)
    assert np.median(ratios) < 0.7, ratios


def test_rigid_landmarks_leave_out_the_mouth_the_eyelids_and_the_irises(faces):
    _, landmarks = faces[0]
    kept = rigid_landmarks(landmarks)
    topology = mesh_topology()
    assert 200 < len(kept) < 330
    for moving in (topology["mouth"], topology["left_eye"], topology["right_eye"], np.arange(468, 478)):
        assert not set(kept) & set(moving.tolist())
    assert 1 in kept and 10 in kept  # the nose tip and the top of the forehead stay
    with pytest.raises(ValueError, match="expected FaceMesh landmarks"):
        rigid_landmarks(landmarks[:100])


def test_live_faces_deform_while_prints_move_rigidly(faces):
    image, landmarks = faces[2]
    # Difference between consecutive frames after removing the mean: a print only shifts slightly.
    live = render_presentation(image, landmarks, BONA_FIDE, "studio", np.random.default_rng(0), num_frames=6,
                               motion=2.0)
    assert np.abs(np.diff(live.frames.astype(np.float32), axis=0)).mean() > 1.0


def test_bad_presentations_have_clear_errors(faces):
    image, landmarks = faces[0]
    with pytest.raises(ValueError, match="unknown presentation 'silicone_mask'"):
        render_presentation(image, landmarks, "silicone_mask", "office", np.random.default_rng(0))
    with pytest.raises(ValueError, match="square RGB"):
        render_presentation(image[:, :50], landmarks, BONA_FIDE, "office", np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"unknown capture domain 'moon'; expected one of \['studio'"):
        render_presentation(image, landmarks, BONA_FIDE, "moon", np.random.default_rng(0))
    with pytest.raises(ValueError, match="moire must be >= 0"):
        render_presentation(image, landmarks, "print_1", "office", np.random.default_rng(0), moire=-1)
    with pytest.raises(ValueError, match="clutter must be >= 0"):
        render_presentation(image, landmarks, BONA_FIDE, "office", np.random.default_rng(0), clutter=-1)


@pytest.fixture(scope="module")
def small_benchmark(tmp_path_factory):
    return make_benchmark(cache=False, progress=False, workers=1, identities_per_domain=5, num_frames=2)


def test_benchmark_splits_are_identity_disjoint(small_benchmark):
    b = small_benchmark
    assert len(b) == 4 * 5 * 8  # domains x identities x (2 bona fide + 6 attack species)
    owner = {}
    for identity, domain, split in zip(b.identity, b.domain, b.split):
        assert owner.setdefault(identity, (domain, split)) == (domain, split)
    assert set(b.pai) == {BONA_FIDE, *ATTACKS} and set(b.domain) == set(DOMAINS)


def test_benchmark_is_deterministic_and_cached(small_benchmark, tmp_path, monkeypatch):
    monkeypatch.setenv("FASLEARN_CACHE", str(tmp_path))
    config = small_benchmark.config
    first = make_benchmark(config, progress=False, workers=2)
    assert np.array_equal(first.frames, small_benchmark.frames)  # worker count does not matter
    assert len(list(tmp_path.glob("benchmark-*.npz"))) == 1
    cached = make_benchmark(config, progress=False)
    assert np.array_equal(cached.frames, first.frames) and np.array_equal(cached.pai, first.pai)


def test_benchmark_identities_are_known_without_rendering(small_benchmark):
    assert np.array_equal(benchmark_identities(small_benchmark.config), np.unique(small_benchmark.identity))
    assert len(benchmark_identities()) == 4 * 150  # the default benchmark: 200 of the 800 faces stay unseen


def test_protocols(small_benchmark):
    b = small_benchmark
    intra, loo = b.protocol("intra", "night"), b.protocol("leave_one_out", "night")
    assert np.array_equal(intra["test"], loo["test"])
    assert set(b.domain[loo["train"]]) == set(DOMAINS) - {"night"}
    with pytest.raises(ValueError, match="unknown protocol"):
        b.protocol("cross", "night")
    with pytest.raises(ValueError, match="not in this benchmark"):
        b.select("train", "moon")


def test_bad_benchmark_settings_fail_early():
    with pytest.raises(ValueError, match="unknown domain"):
        make_benchmark(domains=("studio", "moon"), cache=False)
    with pytest.raises(ValueError, match="difficulty"):
        make_benchmark(difficulty=2.0, cache=False)
    with pytest.raises(ValueError, match="moire"):
        make_benchmark(moire=-0.5, cache=False)
    with pytest.raises(ValueError, match="clutter"):
        make_benchmark(clutter=-0.5, cache=False)
    with pytest.raises(ValueError, match="need 2000 faces"):
        make_benchmark(identities_per_domain=500, cache=False)


def test_prepared_clips_are_cached_and_feed_the_clip_dataset(small_benchmark, tmp_path, monkeypatch):
    monkeypatch.setenv("FASLEARN_CACHE", str(tmp_path))
    b = small_benchmark
    prepared = prepare_clips(b, k=1, flow="dis", progress=False)
    assert prepared.frames.shape == (len(b), 2, 64, 64, 3) and prepared.flow.shape == (len(b), 1, 64, 64, 2)
    assert (prepared.key_frames == [0, 1]).all()  # two frames, one stack: both kept
    assert np.array_equal(prepared.frames[:, 0], b.frames[:, 0])  # frame 0 is the reference of the registration
    again = prepare_clips(b, k=1, flow="dis", progress=False)
    assert len(list(tmp_path.glob("clips-*.npz"))) == 1 and np.array_equal(again.flow, prepared.flow)
    item = ClipDataset(b, b.select("test"), prepared=prepared)[0]
    assert item["clip"].shape == (2, 3, 64, 64) and item["flow"].shape == (2, 64, 64)
    with pytest.raises(ValueError, match="too few for 2\\+1 key frames"):
        prepare_clips(b, k=2, progress=False)
    with pytest.raises(ValueError, match="unknown optical flow method 'tvl1'"):
        prepare_clips(b, k=1, flow="tvl1", progress=False)
    with pytest.raises(ValueError, match="unknown registration anchors 'eyes'; expected one of"):
        prepare_clips(b, k=1, anchors="eyes", progress=False)
    points, box = b.anchors(0)
    assert box is None and np.array_equal(points, b.landmarks[0][rigid_landmarks(b.landmarks[0])])


def test_flip_shift_moves_the_image_and_its_maps_together():
    image = torch.zeros(3, 64, 64)
    image[:, 8:12, 40:44] = 1  # a bright block on map cell (2, 10) of a 16 x 16 map (4 px per cell)
    depth = torch.zeros(1, 16, 16)
    depth[0, 2, 10] = 1
    torch.manual_seed(0)
    moves = set()
    for _ in range(40):
        moved, moved_depth = FlipShift(max_cells=1)(image, depth)
        assert moved.shape == image.shape and moved_depth.shape == depth.shape
        row, col = np.unravel_index(int(moved_depth[0].argmax()), (16, 16))
        ys, xs = torch.nonzero(moved[0] == 1, as_tuple=True)
        assert (ys.min() // 4, xs.min() // 4) == (row, col) and len(ys) == 16  # the block sits on its cell, whole
        moves.add((int(row), int(col)))
    assert {(2, 10), (2, 5)} <= moves and len(moves) > 4  # flips (column 15 - 10) and shifts both happen
    with pytest.raises(ValueError, match="not a whole number of map cells"):
        FlipShift()(torch.zeros(3, 64, 64), torch.zeros(1, 10, 10))
    with pytest.raises(ValueError, match="max_cells must be >= 0"):
        FlipShift(max_cells=-1)


def test_flip_shift_moves_a_whole_clip_alike():
    """A clip gets one flip and one shift for all its frames: the motion between its frames is kept."""
    torch.manual_seed(1)
    clip = torch.rand(5, 3, 32, 32)
    clip[1:] = clip[0]  # every frame the same: after augmentation they must still be the same
    for _ in range(10):
        moved = FlipShift(max_cells=4)(clip)
        assert moved.shape == clip.shape and all(torch.equal(moved[0], frame) for frame in moved[1:])
    assert any(not torch.equal(FlipShift(max_cells=4)(clip), clip) for _ in range(5))


def test_augmented_frames_follow_torch_seed(small_benchmark):
    b = small_benchmark
    rows = b.select("train")
    plain, augmented = FrameDataset(b, rows), FrameDataset(b, rows, augment=FlipShift())
    torch.manual_seed(3)
    first = [augmented[i]["image"] for i in range(6)]
    torch.manual_seed(3)
    assert all(torch.equal(x, augmented[i]["image"]) for i, x in enumerate(first))
    assert any(not torch.equal(x, plain[i]["image"]) for i, x in enumerate(first))
    assert augmented[0]["depth"].shape == plain[0]["depth"].shape


def test_frame_and_clip_datasets_work_with_dataloader_workers(small_benchmark):
    b = small_benchmark
    frames = FrameDataset(b, b.select("train"))
    assert len(frames) == 2 * len(b.select("train"))
    batch = next(iter(DataLoader(frames, batch_size=8, shuffle=True, num_workers=2,
                                 generator=torch.Generator().manual_seed(0))))
    assert batch["image"].shape == (8, 3, 64, 64) and batch["image"].min() >= -1 and batch["image"].max() <= 1
    assert batch["depth"].shape == (8, 1, 16, 16) and batch["label"].dtype == torch.int64
    assert len(batch["pai"]) == 8 and isinstance(batch["video"][0], str)
    clips = ClipDataset(b, b.select("test"))
    item = clips[0]
    assert item["clip"].shape == (2, 3, 64, 64) and item["depth"].shape == (2, 16, 16)


@pytest.mark.parametrize("change, expected", [
    ({"num_frames": 0}, "num_frames must be a whole number >= 1, got 0"),
    ({"num_frames": 2.5}, "num_frames must be a whole number >= 1, got 2.5"),
    ({"landmarks": np.zeros((478, 2))}, "landmarks must be finite 3D points (N, 3)"),
    ({"image": np.zeros((64, 64, 3), np.float32)}, "image must be a square RGB array (S, S, 3) of uint8"),
])
def test_render_presentation_refuses_what_it_cannot_render_in_one_line(change, expected):
    image, landmarks = fl.data.load_faces("synthetic")[0]
    arguments = {"image": image, "landmarks": landmarks, "num_frames": 1, **change}
    with pytest.raises(ValueError) as error:
        fl.data.render_presentation(arguments.pop("image"), arguments.pop("landmarks"), "bona_fide", "studio",
                                    np.random.default_rng(0), **arguments)
    assert expected in str(error.value)


def test_load_recordings_without_a_root_names_what_it_expected():
    with pytest.raises(ValueError, match="root must be the folder of your OULU-NPU copy, got None"):
        fl.data.load_recordings("oulu_npu", None)
