"""Real recordings: the data faslearn *reads*. Dataset adapters that parse the published layouts and protocols
(`adapters`), face detection and alignment (`align`), the crop cache of aligned faces (`crops`) and the one
call that does all three (`loading.load_crops`). Every name is also in `faslearn.data`."""
from .adapters import (
           CROSS_DATASET_PROTOCOLS,
           DATASETS,
           DatasetError,
           Recording,
           cross_dataset,
           load_recordings,
           protocols,
)
from .align import (
           DETECTORS,
           Face,
           NoFaceError,
           align_face,
           detect_and_align,
           eye_template,
           face_transform,
           get_detector,
)
from .crops import CropSet, prepare_crops
from .loading import crop_cache_dir, load_crops, load_recordings_for

__all__ = ["CROSS_DATASET_PROTOCOLS", "CropSet", "DATASETS", "DETECTORS", "DatasetError", "Face", "NoFaceError",
           "Recording", "align_face", "crop_cache_dir", "cross_dataset", "detect_and_align", "eye_template",
           "face_transform", "get_detector", "load_crops", "load_recordings", "load_recordings_for",
           "prepare_crops", "protocols"]
