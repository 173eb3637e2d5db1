"""The real-dataset adapters on tiny copies of each dataset in its published layout (tests/dataset_trees.py)."""
import collections
import json

import pytest
from dataset_trees import BUILDERS, make_tree

from faslearn.data.real.adapters import (
    CROSS_DATASET_PROTOCOLS,
    DATASETS,
    DatasetError,
    cross_dataset,
    load_recordings,
    protocols,
)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    return {name: make_tree(name, root / name) for name in BUILDERS}


def counts(recordings):
    return collections.Counter((r.split, r.pai) for r in recordings)


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_protocol_lists_existing_files_with_sound_splits(trees, name):
    for protocol in protocols(name):
        recordings = load_recordings(name, trees[name], protocol)
        assert all(r.path.is_file() and r.dataset == name for r in recordings)
        assert len({r.video for r in recordings}) == len(recordings)  # unique ids
        assert all(r.video.startswith(f"{name}/") for r in recordings)
        assert all((r.label == 1) == (r.pai == "bona_fide") for r in recordings)
        subjects = {split: {r.subject for r in recordings if r.split == split} for split in ("train", "dev", "test")}
        if name != "folder":  # the folder layout without split folders is all test data
            assert subjects["train"] and subjects["dev"] and subjects["test"], (name, protocol)
            assert not subjects["train"] & subjects["dev"], (name, protocol)  # subject-disjoint
        if name not in ("siw",) or protocol in ("1", "all"):
            # every split sees bona fide faces and attacks
            for split in ("train", "dev", "test") if name != "folder" else ("test",):
                labels = {r.label for r in recordings if r.split == split}
                assert labels == {0, 1}, (name, protocol, split)


def test_oulu_npu_protocols_follow_the_users_sessions_and_instruments(trees):
    p1 = load_recordings("oulu_npu", trees["oulu_npu"], "1")
    assert {r.path.stem.split("_")[1] for r in p1 if r.split == "test"} == {"3"}  # session 3 only
    assert {r.path.stem.split("_")[1] for r in p1 if r.split == "train"} <= {"1", "2"}
    assert {int(r.subject) for r in p1 if r.split == "train"} <= set(range(1, 21))
    assert {int(r.subject) for r in p1 if r.split == "dev"} <= set(range(21, 36))
    assert set(counts(p1)) >= {("test", pai) for pai in ("bona_fide", "print_1", "print_2", "replay_1", "replay_2")}
    p2 = load_recordings("oulu_npu", trees["oulu_npu"], "2")
    assert {r.pai for r in p2 if r.split == "train"} == {"bona_fide", "print_1", "replay_1"}
    assert {r.pai for r in p2 if r.split == "test"} == {"bona_fide", "print_2", "replay_2"}
    p3 = load_recordings("oulu_npu", trees["oulu_npu"], "3_2")  # leave phone 2 out
    assert {r.path.stem[0] for r in p3 if r.split == "test"} == {"2"}
    assert {r.path.stem[0] for r in p3 if r.split == "train"} == {"1"}
    assert len(load_recordings("oulu_npu", trees["oulu_npu"], "4_1")) < len(p3)


def test_siw_protocols_hold_out_media(trees):
    p2 = load_recordings("siw", trees["siw"], "2_3")
    assert {r.pai for r in p2 if r.split == "test"} == {"bona_fide", "replay_3"}
    assert "replay_3" not in {r.pai for r in p2 if r.split != "test"}
    p3 = load_recordings("siw", trees["siw"], "3_1")
    assert {r.pai.split("_")[0] for r in p3 if r.split == "train" and r.label == 0} == {"print"}
    assert {r.pai.split("_")[0] for r in p3 if r.split == "test" and r.label == 0} == {"replay"}


def test_instrument_names_per_dataset(trees):
    def attacks(name):
        return {r.pai for r in load_recordings(name, trees[name]) if r.label == 0}

    assert attacks("casia_fasd") == {"warped_print", "cut_print", "replay"}
    assert attacks("replay_attack") == {"print", "mobile", "highdef"}
    assert attacks("msu_mfsd") == {"printed_photo", "ipad_video", "iphone_video"}
    assert attacks("celeba_spoof") == {"photo", "pc", "phone"}
    assert attacks("folder") == {"print", "phone_replay"}


def test_celeba_spoof_boxes_are_scaled_from_224_to_the_image(trees):
    recording = load_recordings("celeba_spoof", trees["celeba_spoof"])[0]
    x, y, w, h = recording.box
    assert (round(x), round(y), round(w), round(h)) == (40, 10, 80, 90)  # the builder's box in its 160 x 120 image


def test_cross_dataset_protocols_keep_the_target_unseen(trees):
    roots = {"O": trees["oulu_npu"], "C": trees["casia_fasd"], "I": trees["replay_attack"], "M": trees["msu_mfsd"]}
    for protocol in CROSS_DATASET_PROTOCOLS:
        splits = cross_dataset(protocol, roots)
        sources, target = protocol.split("->")
        names = {"O": "oulu_npu", "C": "casia_fasd", "I": "replay_attack", "M": "msu_mfsd"}
        assert {r.dataset for r in splits["train"] + splits["dev"]} == {names[s] for s in sources.split("&")}
        assert {r.dataset for r in splits["test"]} == {names[target]}
        assert all(r.split != "dev" for r in splits["test"])  # the target's dev recordings are left out
    with pytest.raises(DatasetError, match="needs the folder of MSU-MFSD: give M=/path/to/it"):
        cross_dataset("O&C&I->M", {k: v for k, v in roots.items() if k != "M"})
    with pytest.raises(DatasetError, match="unknown cross-dataset protocol 'O->X'"):
        cross_dataset("O->X", roots)


def test_bad_input_gives_one_line_naming_the_file(trees, tmp_path):
    def error(*args) -> str:
        with pytest.raises(DatasetError) as raised:
            load_recordings(*args)
        message = str(raised.value)
        assert "\n" not in message
        return message

    assert "unknown dataset 'oulu'" in error("oulu", tmp_path)
    expected = "unknown OULU-NPU protocol '5'; expected one of ['1', '2', '3_1'"
    assert expected in error("oulu_npu", trees["oulu_npu"], "5")
    assert f"no OULU-NPU copy at {tmp_path / 'nowhere'}: expected a folder with Train_files/" in error(
        "oulu_npu", tmp_path / "nowhere", "1")

    broken = make_tree("oulu_npu", tmp_path / "oulu")
    list_file = broken / "Protocols" / "Protocol_1" / "Train.txt"
    list_file.write_text("+1,1_1_01_1\nthis is not a line\n")
    assert f"{list_file}:2: expected a line like '+1,1_1_01_1'" in error("oulu_npu", broken, "1")
    list_file.write_text("+1,1_1_01_1\n-1,9_9_99_2\n-2,9_9_99_4\n")
    assert f"{list_file} names 2 video(s) absent from" in error("oulu_npu", broken, "1")
    (broken / "Protocols" / "Protocol_2" / "Dev.txt").unlink()
    assert "no list file" in error("oulu_npu", broken, "2")

    casia = make_tree("casia_fasd", tmp_path / "casia")
    (casia / "train_release" / "1" / "9.avi").write_bytes(b"")
    assert "9.avi: expected a CASIA-FASD video named 1-8 or HR_1-HR_4" in error("casia_fasd", casia)

    celeba = make_tree("celeba_spoof", tmp_path / "celeba")
    labels = celeba / "metas" / "intra_test" / "test_label.json"
    labels.write_text(json.dumps({"Data/test/1/live/missing.jpg": [0] * 44}))
    assert "names Data/test/1/live/missing.jpg, absent from" in error("celeba_spoof", celeba)
    (tmp_path / "empty" / "live").mkdir(parents=True)
    assert "found no recordings" in error("folder", tmp_path / "empty")
