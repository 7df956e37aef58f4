"""Crashes: ``kill -9`` at random moments never corrupts what was written before.

* training with ``checkpoint_every=1``: the newest checkpoint always loads, holds at most one
  checkpoint interval less than the run had finished, and resuming from it (even after a second
  kill) ends bit for bit where an uninterrupted run ends;
* saving a model over an existing one: the file is the old or the new model (that part is
  ``test_modelfile.py::test_kill_9_during_save_leaves_a_whole_model``) and killed writers leave no
  pile of temporary files behind.

A killed search is ``test_search.py::test_killed_search_resumes_without_repeating``; Ctrl-C during
``deeplayers train`` is tested with the command line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")

# the same problem in the child processes and here: small enough that an epoch takes milliseconds,
# with mini-batches, Adam, dropout and a schedule so that every piece of state must survive
_SETUP = """
import numpy as np
import deeplayers as dl

def problem():
    rng = np.random.RandomState(0)
    X = rng.randn(8, 256)
    Y = np.eye(3)[(X[0] > 0).astype(int) + (X[1] > 0.5)].T
    return X, Y

def network():
    return dl.Network([8, 24, 16, 3], output="softmax", seed=3)

OPTIONS = dict(optimizer="adam", learning_rate=0.01, batch_size=16, keep_prob=[0.9, 0.8], l2=0.001,
               lr_schedule="exponential", seed=11)
EPOCHS = 80
"""

_CHILD = _SETUP + """
import sys
from deeplayers.training import Callback

class Tell(Callback):  # says which epoch just ended, before its checkpoint is written
    def on_epoch_end(self, loop, epoch, logs):
        print(epoch + 1, flush=True)

ckpt, resume = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
X, Y = problem()
network().fit(X, Y, epochs=EPOCHS, checkpoint=ckpt, checkpoint_every=1, resume=resume, callbacks=[Tell()],
              **OPTIONS)
print("finished", flush=True)
"""

_ns: dict = {}
exec(_SETUP, _ns)  # noqa: S102 - the same definitions as the children, from one source


def _temp_files(directory, name):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(".tmp"))


def _run_and_kill(script, args, kill_after_epoch, rng):
    """Start the child, kill -9 it soon after it reports ``kill_after_epoch``; return the last epoch
    it reported as finished."""
    proc = subprocess.Popen([sys.executable, str(script), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = 0
    try:
        deadline = time.monotonic() + 120
        while seen < kill_after_epoch and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"the training child ended early: {proc.communicate()[1][-2000:]}"
            assert line.strip() != "finished", "the run finished before it could be killed"
            seen = int(line)
        time.sleep(0.02 * rng.rand())  # somewhere inside the next epoch or its checkpoint write
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    lines = [s for s in rest.split() if s.isdigit()]
    assert "finished" not in rest, "the run finished before it could be killed"
    return max([seen, *map(int, lines)])


def test_kill_9_during_checkpointed_training_loses_at_most_one_interval(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_CHILD)
    ckpt = tmp_path / "run.ckpt"
    rng = np.random.RandomState(7)
    X, Y = _ns["problem"]()

    # first run, killed; then a resumed run, killed again
    done = _run_and_kill(script, [ckpt], kill_after_epoch=rng.randint(3, 15), rng=rng)
    state = load_checkpoint(ckpt, _ns["network"]())  # the newest checkpoint loads: never half written
    assert done - 1 <= state["epoch"] <= done, (done, state["epoch"])  # at most one interval lost
    assert len(state["history"]["cost"]) == state["epoch"]
    assert len(_temp_files(tmp_path, ckpt.name)) <= 1  # at most the one being written when killed

    first = state["epoch"]
    done = _run_and_kill(script, [ckpt, ckpt], kill_after_epoch=first + rng.randint(3, 15), rng=rng)
    state = load_checkpoint(ckpt, _ns["network"]())
    assert first < state["epoch"] and done - 1 <= state["epoch"] <= done
    assert len(_temp_files(tmp_path, ckpt.name)) <= 1  # the first kill's leftover was cleaned up

    # finishing from the checkpoint gives exactly the uninterrupted run
    resumed = _ns["network"]()
    h = resumed.fit(X, Y, epochs=_ns["EPOCHS"], resume=ckpt, **_ns["OPTIONS"])
    straight = _ns["network"]()
    h_straight = straight.fit(X, Y, epochs=_ns["EPOCHS"], **_ns["OPTIONS"])
    for k, v in straight.parameters.items():
        assert v.tobytes() == resumed.parameters[k].tobytes(), k
    assert h.cost == h_straight.cost and h.n_iter == h_straight.n_iter


_SAVER = """
import sys, deeplayers as dl
path = sys.argv[1]
nets = [dl.Network([300, 300, 1], seed=s) for s in (1, 2)]
print("ready", flush=True)
i = 0
while True:
    dl.save(nets[i % 2], path); i += 1
"""


def test_killed_saves_leave_no_pile_of_temporary_files(tmp_path):
    """Each kill -9 inside a save can leave its temporary file; the next save clears the files of
    writers that are gone, so there is never more than the one being written."""
    script = tmp_path / "saver.py"
    script.write_text(_SAVER)
    path = tmp_path / "model.npz"
    dl.save(dl.Network([300, 300, 1], seed=0), path)
    known = [dl.Network([300, 300, 1], seed=s).parameters["W1"] for s in (0, 1, 2)]
    rng = np.random.RandomState(3)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(0.1 + 0.2 * rng.rand())
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        W1 = dl.load(path).network.parameters["W1"]
        assert any(np.array_equal(W1, k) for k in known)
        assert len(_temp_files(tmp_path, path.name)) <= 1
    dl.save(dl.Network([300, 300, 1], seed=0), path)  # a save by a live process clears them all
    assert _temp_files(tmp_path, path.name) == []
