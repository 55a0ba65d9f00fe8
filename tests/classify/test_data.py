"""Loading UCR/UEA data by name and from .ts/.arff/.csv files; every bad input gets a clear, exact message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnkit.classify.data import (
    _aeon_data_dir,
    available_datasets,
    check_compatible,
    load_dataset,
    load_file,
    pad,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_named_datasets_load_offline():
    assert {"JapaneseVowels", "GunPoint", "ItalyPowerDemand", "BasicMotions"} <= set(available_datasets())
    data = load_dataset("BasicMotions", "test")
    assert (len(data), data.channels, set(data.lengths)) == (40, 6, {100})
    assert sorted(set(data.labels)) == ["badminton", "running", "standing", "walking"]


def test_unequal_lengths_pad_with_lengths():
    data = load_dataset("JapaneseVowels", "test")
    x, lengths = pad(data.series)
    assert x.shape == (370, max(data.lengths), 12)
    assert lengths.tolist() == data.lengths
    assert float(x[lengths.argmin(), int(lengths.min()) :].abs().sum()) == 0.0


def test_unknown_dataset():
    with pytest.raises(ValueError) as err:
        load_dataset("NoSuchData", "train")
    assert str(err.value) == (
        "unknown data set 'NoSuchData'; available offline (shipped with aeon): "
        f"{', '.join(available_datasets())}. For other data give a folder in the UCR archive layout "
        "(NAME/NAME_TRAIN.ts, NAME/NAME_TEST.ts) or --train FILE --test FILE"
    )


def test_ts_file_multivariate_unequal_length(tmp_path):
    path = _write(
        tmp_path / "toy.ts",
        "@problemName toy\n@timeStamps false\n@missing false\n@univariate false\n@dimensions 2\n"
        "@equalLength false\n@classLabel true a b\n@data\n"
        "1,2,3:4,5,6:a\n7,8:9,10:b\n",
    )
    data = load_file(path)
    assert data.labels == ["a", "b"]
    assert data.lengths == [3, 2]
    np.testing.assert_array_equal(data.series[0], [[1, 4], [2, 5], [3, 6]])


def test_arff_file():
    data = load_file(_aeon_data_dir() / "BasicMotions" / "BasicMotions_TRAIN.arff")
    assert (len(data), data.channels) == (40, 6)


def test_csv_wide_with_shorter_series(tmp_path):
    path = _write(tmp_path / "d.csv", "t0,t1,t2,label\n1,2,3,x\n4,5,,y\n")
    data = load_file(path)
    assert data.labels == ["x", "y"]
    assert data.lengths == [3, 2]
    assert data.channels == 1


def test_csv_other_label_column(tmp_path):
    path = _write(tmp_path / "d.csv", "cls,a,b\nu,1,2\nv,3,4\n")
    assert load_file(path, label_column="cls").labels == ["u", "v"]


def test_csv_missing_label_column(tmp_path):
    path = _write(tmp_path / "d.csv", "t0,t1,class\n1,2,a\n")
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == (
        f"{path} has no label column 'label'; columns are 't0', 't1', 'class'. "
        "Name the column holding the classes with --label_column"
    )


def test_csv_ragged(tmp_path):
    path = _write(tmp_path / "d.csv", "t0,t1,label\n1,2,a\n1,2,3,b\n")
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == (
        f"{path}: line 3 has 4 fields, expected 3 as in the header; "
        "the CSV is ragged (leave the last cells of a shorter series empty instead)"
    )


def test_csv_nan_inside_a_series(tmp_path):
    path = _write(tmp_path / "d.csv", "t0,t1,t2,label\n1,2,3,a\n1,,3,b\n")
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == (
        f"{path}: series 1 has a missing or infinite value (NaN) at time step 1, channel 0; "
        "fill or drop missing values first"
    )


def test_csv_nan_written_out(tmp_path):
    path = _write(tmp_path / "d.csv", "t0,t1,label\nnan,2,a\n")
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value).startswith(f"{path}: series 0 has a missing or infinite value (NaN) at time step 0")


def test_csv_not_a_number(tmp_path):
    path = _write(tmp_path / "d.csv", "t0,t1,label\n1,abc,a\n")
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == f"{path}: line 2: could not convert string to float: 'abc'; expected numbers"


def test_ts_with_missing_values(tmp_path):
    path = _write(
        tmp_path / "m.ts",
        "@problemName m\n@timeStamps false\n@missing true\n@univariate true\n@equalLength true\n"
        "@seriesLength 3\n@classLabel true a b\n@data\n1,?,3:a\n4,5,6:b\n",
    )
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == (
        f"{path}: series 0 has a missing or infinite value (NaN) at time step 1, channel 0; "
        "fill or drop missing values first"
    )


def test_empty_files(tmp_path):
    for name in ("e.csv", "e.ts", "e.arff"):
        path = _write(tmp_path / name, "")
        with pytest.raises(ValueError) as err:
            load_file(path)
        assert str(err.value) == f"{path} is empty; expected one series per row (a CSV with a header row, .ts or .arff)"
    path = _write(tmp_path / "h.csv", "t0,t1,label\n")
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == f"{path} has a header but no series"


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(FileNotFoundError) as missing:
        load_file(tmp_path / "nope.csv")
    assert str(missing.value) == f"no such file: {tmp_path / 'nope.csv'}"
    path = _write(tmp_path / "d.json", "{}")
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == "expected a .ts, .arff, .csv file, got 'd.json'"


def test_class_present_only_in_test(tmp_path):
    train = load_file(_write(tmp_path / "train.csv", "t0,t1,label\n1,2,a\n3,4,b\n"))
    test = load_file(_write(tmp_path / "test.csv", "t0,t1,label\n1,2,a\n3,4,c\n5,6,d\n"))
    with pytest.raises(ValueError) as err:
        check_compatible(train, test)
    assert str(err.value) == (
        f"{test.source} has classes that {train.source} lacks: 'c', 'd'; "
        "a classifier can only predict classes it was trained on"
    )


def test_channel_mismatch(tmp_path):
    train = load_dataset("BasicMotions", "train")
    test = load_file(_write(tmp_path / "test.csv", "t0,t1,label\n1,2,standing\n"))
    with pytest.raises(ValueError) as err:
        check_compatible(train, test)
    assert str(err.value) == f"{test.source} has 1 channels but BasicMotions (train) has 6"


def test_ts_without_labels(tmp_path):
    path = _write(
        tmp_path / "u.ts",
        "@problemName u\n@timeStamps false\n@missing false\n@univariate true\n@equalLength true\n"
        "@seriesLength 3\n@classLabel false\n@data\n1,2,3\n4,5,6\n",
    )
    assert load_file(path, labels_required=False).labels is None
    with pytest.raises(ValueError) as err:
        load_file(path)
    assert str(err.value) == f"{path} has no class labels; training and evaluation need them"
