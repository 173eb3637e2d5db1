"""The capture domains of the sample world and the presentations it renders.

A *capture domain* is what makes two face anti-spoofing datasets differ: the camera, the rooms and their
light, and the attack instruments its collectors used (their printers, screens and masks). ``DOMAINS``
holds the four of the course; ``harden`` moves an instrument's visible flaws towards invisibility
(a benchmark's ``difficulty``); ``domain_table`` lists every parameter for display.
`faslearn.data.world.simulator` renders a presentation in a domain.
"""
from dataclasses import dataclass, fields, replace

import numpy as np

from ...metrics import BONA_FIDE
from .attacks import MaskInstrument, Moire, PrintInstrument, ScreenInstrument
from .camera import Camera

KNOWN_ATTACKS = ("print_1", "print_2", "replay_1", "replay_2")
UNSEEN_ATTACKS = ("mask_3d", "partial_eyes")  # held out of training by default
ATTACKS = KNOWN_ATTACKS + UNSEEN_ATTACKS
PRESENTATIONS = (BONA_FIDE,) + ATTACKS


@dataclass(frozen=True)
class CaptureDomain:
    """The cameras, rooms and attack instruments of one (miniature) dataset."""

    name: str
    description: str
    camera: Camera  # the camera of the anti-spoofing system
    source_camera: Camera  # the camera that took the photos and videos the attacks show
    light: tuple[float, float, float]  # room illuminant, linear RGB
    light_level: tuple[float, float]  # range of the room's brightness
    backgrounds: tuple  # sRGB colours of the rooms' walls and furniture
    instruments: dict  # PAI name -> PrintInstrument | ScreenInstrument | MaskInstrument
    moire: Moire | None = None  # the colour moiré its flat media leave in its camera, drawn when a benchmark
    # asks for it (None: none, e.g. a domain without media)
    clutter: float = 1.0  # mean number of objects in its rooms (shelves, frames, posters, furniture)


def _print(**kwargs):
    return PrintInstrument(**kwargs)


DOMAINS = {
    domain.name: domain for domain in [
        CaptureDomain(
            "studio", "sharp high-resolution camera, neutral daylight, plain backdrops; glossy photo and laser "
            "prints, a high-ppi tablet and a desktop monitor; resin masks",
            Camera(face_pixels=(128, 176), blur=0.3, shot_noise=0.006, read_noise=0.002, white_balance_error=0.02,
                   jpeg_quality=(90, 97)),
            Camera(face_pixels=(160, 224), blur=0.4, shot_noise=0.008, saturation=1.15, sharpen=0.4,
                   jpeg_quality=(85, 95)),
            light=(1.0, 0.98, 0.95), light_level=(0.9, 1.1),
            backgrounds=((0.78, 0.78, 0.76), (0.55, 0.57, 0.6), (0.85, 0.84, 0.8)),
            instruments={
                "print_1": _print(lpi=175, face_width_in=5.0, dot_gain=0.08, saturation=0.9, gloss=0.35, bend=0.15,
                                  paper_white=(0.95, 0.95, 0.94), paper_texture=0.01),
                "print_2": _print(lpi=100, face_width_in=4.0, dot_gain=0.15, saturation=0.75, bend=0.3),
                "replay_1": ScreenInstrument(ppi=264, face_width_in=2.5, fill_factor=0.85, black_level=0.01,
                                             white_point=(0.97, 1.0, 1.06), glare=0.12, flicker=0.01),
                "replay_2": ScreenInstrument(ppi=96, face_width_in=0.8, fill_factor=0.7, gamma=2.5,
                                             white_point=(1.0, 1.0, 1.1), black_level=0.05, glare=0.2, flicker=0.03),
                "mask_3d": MaskInstrument(saturation=0.75, smoothing=1.0, sheen=0.2, tint=(1.0, 0.96, 0.9)),
                "partial_eyes": _print(lpi=175, face_width_in=5.0, saturation=0.9, gloss=0.2, bend=0.1),
            },
            moire=Moire(angle=45.0, period=(6.0, 8.0), contrast=0.23),
            clutter=0.25),
        CaptureDomain(
            "office", "soft low-resolution webcam, greenish fluorescent light, cluttered offices; office laser "
            "and inkjet prints on plain paper, a laptop and a tablet; paper masks",
            Camera(face_pixels=(88, 116), blur=0.75, shot_noise=0.018, read_noise=0.007,
                   white_balance=(1.06, 1.0, 0.88), white_balance_error=0.04, saturation=0.85, jpeg_quality=(65, 80)),
            Camera(face_pixels=(96, 144), blur=0.6, shot_noise=0.015, saturation=1.1, sharpen=0.4,
                   jpeg_quality=(70, 85)),
            light=(0.86, 0.92, 0.8), light_level=(0.7, 1.0),
            backgrounds=((0.72, 0.68, 0.58), (0.35, 0.42, 0.55), (0.62, 0.62, 0.6), (0.45, 0.35, 0.28)),
            instruments={
                "print_1": _print(lpi=85, face_width_in=4.0, dot_gain=0.12, saturation=0.7, paper_texture=0.05,
                                  bend=0.4),
                "print_2": _print(lpi=60, face_width_in=3.0, dot_gain=0.22, saturation=0.8, paper_texture=0.06,
                                  paper_white=(0.9, 0.9, 0.84), bend=0.3, banding=0.06),
                "replay_1": ScreenInstrument(ppi=110, face_width_in=1.2, fill_factor=0.75, gamma=2.4, black_level=0.06,
                                             glare=0.1, flicker=0.04),
                "replay_2": ScreenInstrument(ppi=132, face_width_in=1.6, fill_factor=0.8, gamma=2.0,
                                             white_point=(1.05, 1.0, 0.95), black_level=0.03, glare=0.18, flicker=0.02),
                "mask_3d": MaskInstrument(saturation=0.6, smoothing=2.0, sheen=0.05, tint=(0.95, 0.94, 0.9)),
                "partial_eyes": _print(lpi=85, face_width_in=4.0, saturation=0.7, paper_texture=0.05, bend=0.3),
            },
            moire=Moire(angle=0.0, period=(5.0, 7.0), contrast=0.55),
            clutter=1.5),
        CaptureDomain(
            "outdoor", "phone camera with vivid, sharpened colour in cool bright daylight, outdoor scenes; "
            "photo-kiosk and inkjet prints, two phones; latex-look masks",
            Camera(face_pixels=(112, 160), blur=0.25, shot_noise=0.01, read_noise=0.003,
                   white_balance=(0.95, 1.0, 1.08),
                   white_balance_error=0.03, gamma=2.4, saturation=1.2, sharpen=0.5, jpeg_quality=(80, 92)),
            Camera(face_pixels=(128, 192), blur=0.35, shot_noise=0.01, saturation=1.3, sharpen=0.5,
                   jpeg_quality=(75, 90)),
            light=(1.05, 1.1, 1.2), light_level=(1.0, 1.4),
            backgrounds=((0.45, 0.58, 0.35), (0.62, 0.74, 0.86), (0.6, 0.55, 0.48), (0.3, 0.38, 0.25)),
            instruments={
                "print_1": _print(lpi=150, face_width_in=4.5, dot_gain=0.1, saturation=0.9, gloss=0.45,
                                  paper_texture=0.02, bend=0.2),
                "print_2": _print(lpi=75, face_width_in=3.5, dot_gain=0.18, saturation=0.75, paper_texture=0.05,
                                  bend=0.35, paper_white=(0.93, 0.92, 0.86), banding=0.05),
                "replay_1": ScreenInstrument(ppi=326, face_width_in=1.5, fill_factor=0.9, gamma=2.3, brightness=1.2,
                                             glare=0.3, flicker=0.01),
                "replay_2": ScreenInstrument(ppi=120, face_width_in=0.75, fill_factor=0.75, gamma=2.1,
                                             white_point=(1.0, 0.97, 1.08), black_level=0.04, brightness=1.1,
                                             glare=0.35, flicker=0.02),
                "mask_3d": MaskInstrument(saturation=0.85, smoothing=0.8, sheen=0.35, tint=(1.0, 0.93, 0.88)),
                "partial_eyes": _print(lpi=150, face_width_in=4.5, saturation=0.9, gloss=0.3, bend=0.2),
            },
            moire=Moire(angle=90.0, period=(6.0, 8.0), contrast=0.15),
            clutter=1.0),
        CaptureDomain(
            "night", "noisy CCTV-like camera, dim warm light, dark rooms; cheap inkjet and laser prints, an old "
            "monitor and a TV; plaster masks",
            Camera(face_pixels=(72, 92), blur=0.9, shot_noise=0.022, read_noise=0.006, exposure=1.3, gamma=2.0,
                   white_balance_error=0.06, saturation=0.7, jpeg_quality=(50, 65)),
            Camera(face_pixels=(80, 128), blur=0.7, shot_noise=0.02, saturation=1.15, sharpen=0.4,
                   jpeg_quality=(60, 80)),
            light=(0.75, 0.62, 0.45), light_level=(0.4, 0.7),
            backgrounds=((0.22, 0.2, 0.18), (0.4, 0.33, 0.25), (0.15, 0.17, 0.22)),
            instruments={
                "print_1": _print(lpi=50, face_width_in=3.0, dot_gain=0.25, saturation=0.65, paper_texture=0.07,
                                  bend=0.45, paper_white=(0.88, 0.87, 0.8), banding=0.08),
                "print_2": _print(lpi=100, face_width_in=4.0, dot_gain=0.1, saturation=0.8, bend=0.3),
                "replay_1": ScreenInstrument(ppi=72, face_width_in=1.3, fill_factor=0.65, gamma=2.6, black_level=0.1,
                                             white_point=(0.95, 1.0, 1.15), glare=0.05, flicker=0.06),
                "replay_2": ScreenInstrument(ppi=40, face_width_in=2.2, fill_factor=0.8, gamma=2.2, black_level=0.07,
                                             brightness=1.3, glare=0.08, flicker=0.05),
                "mask_3d": MaskInstrument(saturation=0.5, smoothing=1.5, sheen=0.1, tint=(0.97, 0.95, 0.93)),
                "partial_eyes": _print(lpi=50, face_width_in=3.0, saturation=0.65, paper_texture=0.07, bend=0.4),
            },
            moire=Moire(angle=120.0, period=(5.0, 7.0), contrast=0.85),
            clutter=0.75),
    ]
}

# The value of each parameter at which its artifact vanishes: ``difficulty`` moves instruments
# towards these (print resolution, pixel density and sizes stay: they are the medium itself).
_INVISIBLE = {
    PrintInstrument: dict(saturation=1.0, paper_texture=0.0, gloss=0.0, bend=0.0, dot_gain=0.0, banding=0.0,
                          paper_white=(1.0, 1.0, 1.0)),
    ScreenInstrument: dict(fill_factor=1.0, gamma=2.2, white_point=(1.0, 1.0, 1.0), black_level=0.0, glare=0.0,
                           flicker=0.0),
    MaskInstrument: dict(saturation=1.0, smoothing=0.0, sheen=0.0, tint=(1.0, 1.0, 1.0)),
}


def harden(instrument: PrintInstrument | ScreenInstrument | MaskInstrument,
           difficulty: float) -> PrintInstrument | ScreenInstrument | MaskInstrument:
    """Move an instrument's visible flaws towards invisibility: 0 = as specified, 1 = none left."""
    if not 0 <= difficulty <= 1:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    changes = {}
    for name, target in _INVISIBLE[type(instrument)].items():
        value = np.asarray(getattr(instrument, name), dtype=float)
        mixed = (1 - difficulty) * value + difficulty * np.asarray(target, dtype=float)
        changes[name] = tuple(mixed.tolist()) if mixed.ndim else float(mixed)
    return replace(instrument, **changes)


def domain_table() -> list[dict]:
    """One row per domain and instrument: the parameters, for display in the course."""
    rows = []
    for domain in DOMAINS.values():
        for pai, instrument in domain.instruments.items():
            row = {"domain": domain.name, "pai": pai, "kind": type(instrument).__name__}
            row.update({f.name: getattr(instrument, f.name) for f in fields(instrument)})
            rows.append(row)
    return rows
