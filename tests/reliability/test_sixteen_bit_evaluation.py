"""evaluate.py's path reads 16-bit images as the evaluated checkpoint's training images
were read (its stored ``image16``), not with a policy of its own."""

import cv2
import numpy as np
import pytest
from skimage import data

from visionseg.core import Method, Prediction
from visionseg.core.errors import ConfigError
from visionseg.core.model_card import ModelCard
from visionseg.data.folder import list_split
from visionseg.evaluation import evaluate
from visionseg.io import Scale16


class Recorder(Method):
    """Predicts background and remembers the brightest pixel of every image it saw."""

    classes = ["background", "defect"]

    def __init__(self, name: str, scale16: Scale16 | None = None) -> None:
        self.name = name
        if scale16 is not None:  # a trained model: its card says how it read 16-bit files
            self.card = ModelCard("x.Y", self.classes, image16=scale16.to_dict())
        self.seen: list[int] = []

    def predict(self, image):
        self.seen.append(int(image.max()))
        return Prediction(mask=np.zeros(image.shape[:2], np.uint8))


@pytest.fixture
def twelve_bit_split(tmp_path):
    for kind in ("images", "masks"):
        (tmp_path / "test" / kind).mkdir(parents=True)
    photo = data.camera()[::8, ::8]
    cv2.imwrite(str(tmp_path / "test/images/a.png"), photo.astype(np.uint16) * 16)  # 0..4080
    cv2.imwrite(str(tmp_path / "test/masks/a.png"), np.zeros(photo.shape, np.uint8))
    return list_split(tmp_path, "test")


def test_the_checkpoints_policy_reads_the_split(twelve_bit_split):
    trained = Recorder("trained", Scale16("range", 0, 65535 // 4))  # as trained: 14 bits
    baseline = Recorder("baseline")
    evaluate([trained, baseline], twelve_bit_split, Recorder.classes)
    assert trained.seen == baseline.seen == [round(4080 * 255 / 16383)]
    alone = Recorder("alone")
    evaluate([alone], twelve_bit_split, Recorder.classes)
    assert alone.seen == [round(4080 * 255 / 4095)]  # auto: 12 significant bits


def test_checkpoints_that_read_differently_are_refused(twelve_bit_split):
    one, other = Recorder("one", Scale16("full")), Recorder("other", Scale16("stretch"))
    with pytest.raises(ConfigError, match="read 16-bit images differently"):
        evaluate([one, other], twelve_bit_split, Recorder.classes)
