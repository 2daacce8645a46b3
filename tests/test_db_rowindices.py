"""Row indices stored as bytes (``assay.db.rowindices``) read back exactly as the JSON lists they replace."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assay.db import rowindices


def test_row_indices_read_back_in_order_as_the_same_python_ints_json_would_give():
    rng = np.random.default_rng(3)
    samples = {"train": rng.permutation(100_000)[:70_000], "validation": [5, 3, 9], "test": [],
               "far": np.array([0, 2**31 - 1, 2**31, 2**40], dtype=np.uint64)}
    expected = json.loads(json.dumps({split: [int(i) for i in rows] for split, rows in samples.items()}))

    data = rowindices.dumps(samples)

    assert rowindices.loads(data) == expected
    assert all(type(i) is int for rows in rowindices.loads(data).values() for i in rows)
    arrays = rowindices.loads_arrays(data)
    assert list(arrays) == ["train", "validation", "test", "far"]
    for split, rows in arrays.items():
        assert rows.dtype == np.int64
        np.testing.assert_array_equal(rows, np.asarray(expected[split], dtype=np.int64))


def test_indices_below_two_to_the_31_take_four_bytes_each_and_larger_ones_eight():
    small = rowindices.dumps({"train": np.arange(1_000)})
    large = rowindices.dumps({"train": np.arange(1_000) + 2**31})
    assert len(large) - len(small) == 4 * 1_000


def test_what_is_not_a_list_of_integers_is_refused_rather_than_rounded():
    with pytest.raises(TypeError, match="'train'"):
        rowindices.dumps({"train": [1.0, 2.5]})
    with pytest.raises(TypeError, match="'train'"):
        rowindices.dumps({"train": [[1, 2]]})
    with pytest.raises(TypeError, match="larger than a row index"):
        rowindices.dumps({"train": np.array([2**63], dtype=np.uint64)})


def test_bytes_that_are_not_stored_row_indices_are_refused():
    with pytest.raises(ValueError, match="not row indices"):
        rowindices.loads(b'{"train": [1, 2]}')
    with pytest.raises(ValueError, match="more than their header"):
        rowindices.loads(rowindices.dumps({"train": [1, 2]}) + b"\0")
