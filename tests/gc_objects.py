"""Looking at the cyclic garbage collector's view of objects, for the tests of what freezes."""

import gc


def tracked(obj) -> bool:
    """Whether ``obj`` is in a generation the collector passes over (not frozen, not untracked)."""
    return any(o is obj for o in gc.get_objects())
