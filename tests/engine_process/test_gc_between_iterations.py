"""The engine loop's garbage collection: the young generation once per iteration, survivors
frozen (engine.process.freeze_survivors)."""

import gc
import weakref

import pytest

from engine.process import freeze_survivors
from tests.gc_objects import tracked


class Node:
    pass


@pytest.fixture
def manual_gc(gc_state_restored):
    gc.disable()


def test_a_reference_cycle_made_garbage_in_the_iteration_is_reclaimed(manual_gc):
    node = Node()
    node.itself = node
    alive = weakref.ref(node)
    del node

    freeze_survivors()

    assert alive() is None


def test_what_survives_the_iteration_is_frozen_out_of_later_passes(manual_gc):
    frozen_before = gc.get_freeze_count()
    kept = Node()

    freeze_survivors()

    assert not tracked(kept)
    assert gc.get_freeze_count() > frozen_before


def test_a_full_pass_reclaims_a_cycle_that_became_garbage_after_its_freeze(manual_gc):
    node = Node()
    node.itself = node
    alive = weakref.ref(node)
    freeze_survivors()
    del node

    freeze_survivors()
    assert alive() is not None  # frozen: a young pass does not see it

    freeze_survivors(full=True)
    assert alive() is None
