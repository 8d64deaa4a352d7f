"""``processing.heap.frozen_heap``: the first job in freezes the heap, the last one out unfreezes
it, and an error inside still unfreezes."""

from __future__ import annotations

import gc

import pytest

from processing.heap import frozen_heap, holders


def test_the_heap_is_frozen_while_any_job_holds_it():
    assert gc.get_freeze_count() == 0 and holders() == 0
    with frozen_heap():
        frozen = gc.get_freeze_count()
        assert frozen > 0 and holders() == 1
        with frozen_heap():  # a second job in the same process
            assert holders() == 2
        # Still frozen. Not ">= frozen": a frozen object freed meanwhile (by reference counting,
        # in any thread of the test process) leaves the permanent generation.
        assert holders() == 1 and gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0 and holders() == 0


def test_an_error_inside_still_unfreezes():
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("the job failed")
    assert gc.get_freeze_count() == 0 and holders() == 0


def test_cycles_made_during_the_job_are_still_collected():
    class Node:
        pass

    with frozen_heap():
        gc.collect()
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2
