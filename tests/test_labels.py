import pytest

from fer_space.labels import EMOTIONS, canonical, id2label_dict, labels_from_id2label
from training.data.fer2013 import FER2013_ORDER, fer2013_to_canonical


def test_fer2013_indices_map_by_name():
    # FER2013: 0 angry 1 disgust 2 fear 3 happy 4 sad 5 surprise 6 neutral
    assert [EMOTIONS[fer2013_to_canonical(i)] for i in range(7)] == list(FER2013_ORDER)
    assert EMOTIONS[fer2013_to_canonical(4)] == "sad"
    assert EMOTIONS[fer2013_to_canonical(6)] == "neutral"


def test_id2label_round_trip_and_validation():
    assert labels_from_id2label(id2label_dict(FER2013_ORDER)) == FER2013_ORDER
    assert labels_from_id2label({0: "Anger", 1: "happiness"}) == ("angry", "happy")
    with pytest.raises(ValueError):
        labels_from_id2label({"0": "angry", "2": "sad"})
    with pytest.raises(ValueError):
        labels_from_id2label({"0": "angry", "1": "anger"})
    with pytest.raises(KeyError):
        canonical("contempt")
