"""plot_features / `deeplayers plot --what features`: layer 1 by W[1], deeper units by their most exciting images;
and the parity example's data and table."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO

import deeplayers as dl
from deeplayers.cli import cli
from deeplayers.plots import feature_activations, plot_features


def relu(Z):
    return np.maximum(Z, 0)


@pytest.fixture
def small():
    rng = np.random.RandomState(3)
    net = dl.Network([6, 5, 4, 2], seed=1)
    X = rng.rand(6, 40)
    return net, X


def test_activations_are_the_forward_pass(small):
    net, X = small
    A1, A2 = feature_activations(net, X, batch_size=7)  # in chunks: the same as at once
    P = net.parameters
    np.testing.assert_allclose(A1, relu(P["W1"] @ X + P["b1"]), rtol=1e-12)
    np.testing.assert_allclose(A2, relu(P["W2"] @ A1 + P["b2"]), rtol=1e-12)


def test_deeper_units_show_the_images_that_excite_them_most(small):
    net, X = small
    fig = plot_features(net, X, (2, 3), units=8, top=4)
    P = net.parameters
    A2 = relu(P["W2"] @ relu(P["W1"] @ X + P["b1"]) + P["b2"])
    live1 = [j for j in range(5) if relu(P["W1"] @ X + P["b1"])[j].max() > 0]
    live2 = [j for j in range(4) if A2[j].max() > 0]
    axes = fig.axes
    assert len(axes) == len(live1) + len(live2)
    # row 1: the rows of W[1] of the live units, as 2 x 3 images scaled by their largest |w|
    for ax, j in zip(axes, live1):
        assert ax.get_title() == f"unit {j + 1}"
        w = P["W1"][j].reshape(2, 3)
        np.testing.assert_allclose(ax.images[0].get_array(), w / np.abs(w).max())
    # row 2: a 2 x 2 mosaic of the 4 images with the largest A[2] of each unit, the best top left
    for ax, j in zip(axes[len(live1):], live2):
        assert ax.get_title() == f"unit {j + 1}"
        mosaic = np.asarray(ax.images[0].get_array())
        assert mosaic.shape == (2 * 2 + 1, 2 * 3 + 1)
        order = np.argsort(-A2[j])
        for k, (r, c) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            img = X[:, order[k]].reshape(2, 3)
            expected = (img - img.min()) / (img.max() - img.min())
            np.testing.assert_allclose(mosaic[r * 3:r * 3 + 2, c * 4:c * 4 + 3], expected)


def test_features_errors(small):
    net, X = small
    with pytest.raises(dl.ShapeError, match=r"n\[0\] = 6 inputs cannot be reshaped to image_shape \(2, 2\)"):
        plot_features(net, X, (2, 2))
    with pytest.raises(dl.ConfigError, match="top must be a square number of images per unit"):
        plot_features(net, X, (2, 3), top=5)
    with pytest.raises(dl.DataError, match="X has 3 images; plot_features shows the top 9 per unit"):
        plot_features(net, X[:, :3], (2, 3))
    with pytest.raises(dl.ConfigError, match="draws hidden layers; this network has none"):
        plot_features(dl.Network([6, 1]), X, (2, 3))


def test_cli_plot_features(tmp_path, mnist_dir):
    runner = CliRunner()
    model = str(tmp_path / "m.npz")
    r = runner.invoke(cli, ["train", str(mnist_dir), "--limit", "600", "--layers", "16,8", "--epochs", "1",
                            "--out", model, "--no-plot", "-q"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "f.png"
    r = runner.invoke(cli, ["plot", model, "--what", "features", "--data", str(mnist_dir), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"features saved to {out}"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = runner.invoke(cli, ["plot", model, "--what", "features"])
    assert r.exit_code == 2 and "--what features needs --data DATA (the images to rank)" in r.output
    r = runner.invoke(cli, ["plot", model, "--what", "curves", "--data", str(mnist_dir)])
    assert r.exit_code == 2 and "--data applies only to --what boundary or features" in r.output


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_parity_example(capsys):
    parity = load_example("parity")
    X, Y = parity.parity_data(5)
    assert X.shape == (5, 32) and len({tuple(c) for c in X.T}) == 32  # every pattern once
    assert all(Y[0, i] == sum(X[:, i]) % 2 for i in range(32))
    deep = parity.deep_dims(8)
    assert deep == [8, 8, 8, 8, 1] and parity.n_params(deep) == 3 * 72 + 9
    shallow = parity.shallow_dims(8, parity.n_params(deep))
    assert shallow == [8, 22, 1] and abs(parity.n_params(shallow) - parity.n_params(deep)) <= 8 + 2
    parity.main(["--bits", "3", "--seeds", "1", "--epochs", "300"])
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("| n bits | m | deep layer_dims | params | deep accuracy | solved | shallow layer_dims")
    assert out[3].startswith("| 3 | 8 | [3, 3, 3, 3, 1] | 40 | ")
