"""examples/deep-network-tour.ipynb runs top to bottom in a real Jupyter kernel, and says what it should."""

from __future__ import annotations

import os

import pytest
from conftest import CAT_DIR, MNIST_DIR, REPO, SHARED, need_shared

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = REPO / "examples" / "deep-network-tour.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory):
    need_shared(CAT_DIR)
    need_shared(MNIST_DIR)
    run_dir = tmp_path_factory.mktemp("tour")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    env = {"DEEPLAYERS_SHARED": str(SHARED.parent), "MPLBACKEND": "Agg",
           # the kernel imports this checkout's deeplayers, and parity.py from examples/
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "examples"), os.environ.get("PYTHONPATH", "")])}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(run_dir)}})
        client.execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb, run_dir


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def cell_with(nb, source: str):
    found = [c for c in nb.cells if c.cell_type == "code" and source in c.source]
    assert len(found) == 1, source
    return found[0]


def test_the_tour_runs_and_shows_what_it_says(executed):
    nb, run_dir = executed
    assert "deeplayers" in text_of(nb.cells[1]) and "(found)" in text_of(nb.cells[1])
    # shapes: the trace of a pass, and where a learner's shapes stop agreeing
    assert "dW[1] = (1/m) dZ[1] A[0]^T" in text_of(cell_with(nb, "tr = net.trace(X, Y)"))
    assert "did you mean X.T?" in text_of(cell_with(nb, "tr = net.trace(X.T)"))
    assert "W[2] has 3 columns, A[1] has 4 rows   <-- shapes disagree" in text_of(cell_with(nb, "course.trace(X, params)"))
    # check: the planted mistake named, then the fixed function passes
    wrong, right = [c for c in nb.cells if c.cell_type == "code" and "report = course.check(linear_backward)" in c.source]
    assert "likely mistake: dW without 1/m" in text_of(wrong)
    assert "linear_backward: OK" in text_of(right)
    # the course's published costs, printed as the course prints them
    cat = text_of(cell_with(nb, "L_layer_model(train_x"))
    assert "Cost after iteration 0: 0.77174932842376" in cat and "Cost after iteration 100: 0.67205344008229" in cat
    assert "the course's published costs, reproduced" in cat
    # depth against width: the table of one run
    assert "| 10 | 1024 | [10, 10, 10, 10, 1] | 341 |" in text_of(cell_with(nb, "parity.run"))
    # pictures: the features figure, and the search's validation curves
    assert (run_dir / "features.png").read_bytes()[:4] == b"\x89PNG"
    assert (run_dir / "search.png").read_bytes()[:4] == b"\x89PNG"
    search = cell_with(nb, "dl.search(")
    assert "3 settings ranked by val_cost" in text_of(search)


def test_the_live_cost_curve_is_one_output_updated_in_place(executed):
    nb, _ = executed
    cell = cell_with(nb, 'verbose="plot"')
    images = [o for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    # 300 iterations redrawn every 12: 25 pictures, all into the one output (no pile of figures)
    assert len(images) == 1
    widgets = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == 1  # tqdm's notebook bar, not text lines
    assert "iteration 1/300" not in text_of(cell)
