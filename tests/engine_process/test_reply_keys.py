"""The reply keys the command client waits on: never the same twice, in a process or its forks."""

import os

from engine import client


def test_reply_keys_in_one_process_are_distinct():
    keys = {client._reply_key() for _ in range(1000)}

    assert len(keys) == 1000
    assert all(key.startswith(client.REPLY_KEY_PREFIX) for key in keys)


def test_a_forked_process_draws_reply_keys_the_parent_does_not():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next key, to the parent
        os.write(write_end, client._reply_key().encode())
        os._exit(0)
    os.close(write_end)
    child_key = os.read(read_end, 200).decode()
    os.waitpid(pid, 0)

    parent_key = client._reply_key()
    assert child_key.startswith(client.REPLY_KEY_PREFIX)
    assert child_key.rsplit(".", 1)[0] != parent_key.rsplit(".", 1)[0]
