"""Reclaiming memory between jobs: a full collection only when the process grew, not after every job."""

from __future__ import annotations

import gc

import pytest

from assay.experiment import reclaim


class Node:
    """Cyclic garbage, the kind only the cyclic collector frees (like a Keras model's layers)."""

    def __init__(self, size: int):
        self.payload = bytearray(size)
        self.me = self


@pytest.fixture
def no_automatic_collection():
    gc.disable()  # an automatic collection would free the garbage before the reclaimer sees it
    yield
    gc.enable()
    gc.unfreeze()


def test_nothing_is_collected_until_memory_grew_past_the_threshold_then_the_garbage_is_freed(no_automatic_collection):
    reclaimer = reclaim.Reclaimer(growth_bytes=40 * 2**20)
    reclaimer.after_job()  # the baseline
    baseline = reclaim.resident_bytes()
    for _ in range(3):
        Node(2**20)  # 1 MB of cyclic garbage per job: far below the threshold
        assert reclaimer.after_job() is False

    # garbage until the process grew past the threshold (freed memory an earlier test left is reused first)
    for _ in range(400):
        Node(2**20)
        if reclaim.resident_bytes() - baseline > 48 * 2**20:
            break
    before = reclaim.resident_bytes()
    assert reclaimer.after_job() is True
    assert reclaimer.collections == 1
    assert not any(isinstance(obj, Node) for obj in gc.get_objects())
    # what the collection freed is reused: the same garbage again does not grow the process past the threshold
    for _ in range(30):
        Node(2**20)
    assert reclaimer.after_job() is False
    assert reclaim.resident_bytes() - before < 40 * 2**20


def test_survivors_of_a_collection_are_frozen_until_the_run_releases_them(no_automatic_collection, monkeypatch):
    # the process's memory reads as grown by 4 MiB: new objects may reuse pages an earlier test freed (glibc
    # raises its mmap threshold after a big free), so the real reading would not always grow; the first test
    # covers real readings
    readings = iter([100 * 2**20, 104 * 2**20, 104 * 2**20])  # the baseline, after the jobs, after collecting
    monkeypatch.setattr(reclaim, "resident_bytes", lambda: next(readings))
    reclaimer = reclaim.Reclaimer(growth_bytes=1)
    reclaimer.after_job()
    kept = [Node(2**20) for _ in range(4)]
    assert reclaimer.after_job() is True
    assert gc.get_freeze_count() > 0  # later collections skip the long-lived objects

    reclaimer.release()

    assert gc.get_freeze_count() == 0
    assert len(kept) == 4


def test_without_a_memory_reading_it_collects_every_so_many_jobs(no_automatic_collection, monkeypatch):
    monkeypatch.setattr(reclaim, "resident_bytes", lambda: None)
    reclaimer = reclaim.Reclaimer(every_jobs=3)

    assert [reclaimer.after_job() for _ in range(6)] == [False, False, True, False, False, True]
