"""``processing.heap.frozen_heap``: the first job in freezes the heap, the last one out unfreezes
it, and an error inside still unfreezes."""

from __future__ import annotations

import gc

import pytest

from processing.heap import frozen_heap, holders


def _frozen(obj: object) -> bool:
    """Whether ``obj`` sits in the permanent generation (frozen), not in one the collector
    walks. Asked of one object we hold, not of the freeze count: other threads of a full test
    run free frozen objects at any time, which lowers the count by one now and then."""
    return gc.is_tracked(obj) and not any(
        o is obj for generation in range(3) for o in gc.get_objects(generation)
    )


def test_the_heap_is_frozen_while_any_job_holds_it():
    assert gc.get_freeze_count() == 0 and holders() == 0
    long_lived = [object()]  # made before the job, as Django's start-up objects are
    assert not _frozen(long_lived)
    with frozen_heap():
        assert gc.get_freeze_count() > 0 and holders() == 1
        assert _frozen(long_lived)
        with frozen_heap():  # a second job in the same process
            assert holders() == 2
        # Still frozen after the second left. Not "count >= before": a frozen object freed
        # meanwhile (by reference counting, in any thread of the test process) leaves it.
        assert holders() == 1 and gc.get_freeze_count() > 0 and _frozen(long_lived)
    assert gc.get_freeze_count() == 0 and holders() == 0
    assert not _frozen(long_lived)


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
