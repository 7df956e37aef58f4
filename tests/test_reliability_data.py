"""Bad data and numerical safety: every mistake is a specific deeplayers error with a useful message.

Each case checks the exception's type (a subclass of the matching built-in) AND its message: what
was found, where (row/column/sample/layer/array) and what to do. The loaders' own file damage is
tested in test_datasets.py and model files in test_modelfile.py; here the data flows through
``Network`` (fit/predict/forward), the course functions, ``Model.predict`` and the estimators.

The gaps these tests found in the engine (NaN at predict time, non-one-hot softmax labels, option
values of the wrong type, complex input, overflowing updates, warnings on divergence) are fixed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deeplayers as dl
from deeplayers import course, errors
from deeplayers.datasets import load_dataset
from deeplayers.losses import LOSSES, get_loss
from deeplayers.modelfile import Model, Preprocessing

RNG = np.random.RandomState(0)
X = RNG.randn(3, 20)
Y = (X[:1] > 0).astype(float)


def _with(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def _net(**kw):
    return dl.Network([3, 4, 1], seed=0, **kw)


def test_the_hierarchy_subclasses_the_matching_built_ins():
    pairs = {errors.ShapeError: ValueError, errors.DataError: ValueError, errors.ConfigError: ValueError,
             errors.DivergenceError: FloatingPointError, errors.ModelFileError: ValueError,
             errors.NotFittedError: AttributeError}
    for exc, builtin in pairs.items():
        assert issubclass(exc, errors.DeeplayersError) and issubclass(exc, builtin)
        assert getattr(dl, exc.__name__) is exc
    assert set(errors.__all__) == {"DeeplayersError", "TrainingWarning", *(e.__name__ for e in pairs)}
    # the one warning: training that finished but learned nothing (a UserWarning, not an error)
    assert issubclass(errors.TrainingWarning, UserWarning) and not issubclass(errors.TrainingWarning, errors.DeeplayersError)
    assert dl.TrainingWarning is errors.TrainingWarning


# -- Network: fit, predict, forward ------------------------------------------------------------------
FIT_CASES = {
    "NaN in X": (dict(X=_with(X, (1, 5), np.nan)), errors.DataError,
                 r"^X contains NaN or infinity \(first at \[1, 5\]\); clean or impute"),
    "inf in X": (dict(X=_with(X, (2, 3), -np.inf)), errors.DataError, r"^X contains NaN or infinity \(first at \[2, 3\]\)"),
    "NaN in Y": (dict(Y=_with(Y, (0, 4), np.nan)), errors.DataError, r"^Y contains NaN or infinity \(first at \[0, 4\]\)"),
    "NaN in X_val": (dict(validation_data=(_with(X, (0, 9), np.nan), Y)), errors.DataError,
                     r"^X_val contains NaN or infinity \(first at \[0, 9\]\)"),
    "empty X": (dict(X=np.empty((3, 0)), Y=np.empty((1, 0))), errors.DataError,
                r"X has no samples: its shape is \(3, 0\), need \(n\[0\], m\) with m >= 1"),
    "empty list": (dict(X=[], Y=[]), errors.ShapeError, r"X must be \(n\[0\], m\) = \(3, m\), got \(0,\)"),
    "text X": (dict(X=X.astype(str)), errors.DataError, r"X has dtype <U\d+; it must hold numbers. Convert text"),
    "object X": (dict(X=X.astype(object)), errors.DataError, r"X has dtype object; it must hold numbers"),
    "text labels": (dict(Y=np.where(Y > 0, "cat", "dog")), errors.DataError,
                    r"Y has dtype <U3; it must hold numbers.*scikit-learn estimators, which encode them"),
    "ragged X": (dict(X=[[1.0, 2.0], [3.0], [4.0, 5.0]], Y=Y[:, :2]), errors.DataError,
                 r"X could not be turned into an array .*; is it ragged\?"),
    "3 classes for one sigmoid unit": (dict(Y=RNG.randint(0, 3, (1, 20)).astype(float)), errors.DataError,
                                       r"Y must hold values in \[0, 1\] for binary_crossentropy \(found 0 \.\. 2\); "
                                       r"encode class labels as 0/1 \(sigmoid\) or one-hot"),
    "-1/+1 labels for BCE": (dict(Y=2 * Y - 1), errors.DataError, r"\(found -1 \.\. 1\)"),
    "labels outside [0, 1] in validation": (dict(validation_data=(X, 3 * Y)), errors.DataError,
                                            r"^Y_val must hold values in \[0, 1\]"),
    "Y of the wrong length": (dict(Y=Y[:, :7]), errors.ShapeError, r"Y must be \(n\[L\], m\) = \(1, 20\), got \(1, 7\)"),
    "Y as a flat vector": (dict(Y=Y[0]), errors.ShapeError, r"did you mean Y.reshape\(1, -1\)\?"),
    "samples as rows": (dict(X=X.T), errors.ShapeError, r"got \(20, 3\): samples go in columns — did you mean X.T\?"),
    "X_val with other features": (dict(validation_data=(RNG.randn(4, 5), Y[:, :5])), errors.ShapeError,
                                  r"X_val must be \(n\[0\], m\) = \(3, m\), got \(4, 5\)"),
    "too few samples for the split": (dict(X=X[:, :1], Y=Y[:, :1], validation_split=0.2), errors.DataError,
                                      r"validation_split=0.2 of m = 1 samples leaves no training or no validation "
                                      r"samples; use more data"),
    "split of everything": (dict(X=X[:, :5], Y=Y[:, :5], validation_split=0.99), errors.DataError,
                            r"of m = 5 samples leaves no training"),
    "split out of range": (dict(validation_split=1.5), errors.ConfigError, r"validation_split must be between 0 and 1, got 1.5"),
    "weights of the wrong length": (dict(sample_weight=np.ones(7)), errors.ShapeError,
                                    r"sample_weight must have one weight per sample, shape \(m,\) = \(20,\), got \(7,\)"),
    "NaN weights": (dict(sample_weight=np.full(20, np.nan)), errors.DataError, r"sample_weight must be finite"),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_refuses_bad_data(case):
    kw, exc, message = FIT_CASES[case]
    kw = dict(kw)
    Xc, Yc = kw.pop("X", X), kw.pop("Y", Y)
    net = _net()
    before = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.raises(exc, match=message):
        net.fit(Xc, Yc, epochs=2, **kw)
    for k, v in net.parameters.items():  # refused before anything was trained
        assert np.array_equal(v, before[k]), k


def test_softmax_labels_must_be_one_hot_rows_per_class():
    rng = np.random.RandomState(1)
    net = dl.Network([3, 4, 3], output="softmax", seed=0)
    with pytest.raises(errors.ShapeError, match=r"Y must be \(n\[L\], m\) = \(3, 20\), got \(1, 20\)"):
        net.fit(X, rng.randint(0, 3, (1, 20)), epochs=1)  # class indices instead of one-hot columns
    with pytest.raises(errors.DataError, match=r"for categorical_crossentropy \(found 0 \.\. 2\)"):
        net.fit(X, 2 * np.eye(3)[:, rng.randint(0, 3, 20)], epochs=1)


def test_softmax_labels_that_are_not_one_hot_are_refused():
    net = dl.Network([3, 4, 3], output="softmax", seed=0)
    with pytest.raises(errors.DataError, match=r"(?s)one-hot.*sample 0|sample 0.*one-hot"):
        net.fit(X, np.vstack([Y, Y, Y]), epochs=1)  # sample 0's column sums to 3 (or 0)


PREDICT_CASES = {
    "other feature count": (RNG.randn(5, 4), errors.ShapeError, r"X must be \(n\[0\], m\) = \(3, m\), got \(5, 4\)$"),
    "samples as rows": (X.T, errors.ShapeError, r"did you mean X.T\?"),
    "one sample as a vector": (X[:, 0], errors.ShapeError, r"did you mean X.reshape\(-1, 1\)\?"),
    "images not flattened": (RNG.randn(3, 2, 2), errors.ShapeError, r"flatten images into columns first"),
    "no samples": (np.empty((3, 0)), errors.DataError, r"X has no samples"),
    "text": (X.astype(str), errors.DataError, r"X has dtype <U\d+; it must hold numbers"),
}


@pytest.mark.parametrize("method", ["predict", "predict_proba", "forward"])
@pytest.mark.parametrize("case", list(PREDICT_CASES))
def test_predict_and_forward_refuse_bad_input(case, method):
    Xc, exc, message = PREDICT_CASES[case]
    net = _net()
    net.fit(X, Y, epochs=2)
    with pytest.raises(exc, match=message):
        getattr(net, method)(Xc)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "forward"])
def test_predict_refuses_nan_and_inf(method):
    net = _net()
    for bad in (np.nan, np.inf):
        with pytest.raises(errors.DataError, match=r"^X contains NaN or infinity \(first at \[1, 2\]\)"):
            getattr(net, method)(_with(X, (1, 2), bad))


def test_a_single_sample_trains_and_predicts():
    net = _net()
    h = net.fit(X[:, :1], Y[:, :1], epochs=3, learning_rate=0.1)
    assert len(h) == 3 and all(np.isfinite(h.cost))
    h = _net().fit(X[:, :1], Y[:, :1], epochs=3, batch_size=32, optimizer="adam")  # batch larger than m
    assert len(h) == 3
    assert net.predict(X[:, :1]).shape == (1, 1) and net.predict_proba(X[:, 3:4]).shape == (1, 1)
    h = _net().fit(X[:, :2], Y[:, :2], epochs=2, validation_split=0.5)  # 1 + 1: the smallest split
    assert len(h.val_cost) == 2


BAD_OPTIONS = [
    pytest.param(dict(epochs=float("nan")), errors.ConfigError, r"epochs must be a non-negative integer, got nan",
                 id="epochs=nan"),
    pytest.param(dict(learning_rate="0.1"), errors.ConfigError, r"learning_rate must be a positive number, got '0.1'",
                 id="learning_rate=str"),
    pytest.param(dict(l2="a"), errors.ConfigError, r"l2 \(lambda\) must be a non-negative number, got 'a'", id="l2=str"),
    pytest.param(dict(sample_weight=np.array(["a"] * 20)), errors.DataError, r"sample_weight .*must hold numbers",
                 id="sample_weight=text"),
    pytest.param(dict(batch_size=2.5), errors.ConfigError, r"batch_size must be a positive integer or None", id="batch=2.5"),
    pytest.param(dict(learning_rate=float("inf")), errors.ConfigError, r"learning_rate must be a positive number, got inf",
                 id="learning_rate=inf"),
]


@pytest.mark.parametrize("kw,exc,message", BAD_OPTIONS)
def test_bad_option_values_are_config_errors(kw, exc, message):
    with pytest.raises(exc, match=message):
        _net().fit(X, Y, **{"epochs": 1, **kw})


def test_complex_input_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(errors.DataError, match=r"X has dtype complex128; it must hold (real )?numbers"):
            _net().fit(X.astype(complex), Y, epochs=1)


def test_unknown_dtype_is_a_config_error():
    with pytest.raises(errors.ConfigError, match=r"dtype must be float32 or float64, got 'bogus'"):
        dl.Network([3, 4, 1], dtype="bogus")


# -- the course functions ---------------------------------------------------------------------------
def test_course_functions_refuse_bad_data():
    params = course.initialize_parameters_deep([3, 4, 1])
    with pytest.raises(errors.DataError, match=r"^X contains NaN or infinity \(first at \[1, 5\]\)"):
        course.L_layer_model(_with(X, (1, 5), np.nan), Y, [3, 4, 1], num_iterations=2)
    with pytest.raises(errors.DataError, match=r"X has no samples"):
        course.L_layer_model(np.empty((3, 0)), np.empty((1, 0)), [3, 4, 1], num_iterations=2)
    with pytest.raises(errors.DataError, match=r"Y must hold values in \[0, 1\] for binary_crossentropy \(found 0 \.\. 2\)"):
        course.two_layer_model(X, 2 * Y, (3, 4, 1), num_iterations=2)
    with pytest.raises(errors.DataError, match=r"X has dtype <U\d+; it must hold numbers"):
        course.L_layer_model(X.astype(str), Y, [3, 4, 1], num_iterations=2)
    with pytest.raises(errors.ShapeError, match=r"X must be \(n\[0\], m\) = \(3, m\), got \(20, 3\).*did you mean X.T"):
        course.L_model_forward(X.T, params)
    with pytest.raises(errors.ShapeError, match=r"X must be \(n\[0\], m\) = \(3, m\), got \(5, 20\)"):
        course.predict(np.ones((5, 20)), Y, params)
    with pytest.raises(errors.ShapeError, match=r"Y must be \(n\[L\], m\) = \(1, 20\), got \(1, 5\)"):
        course.compute_cost(np.full((1, 20), 0.5), Y[:, :5])
    with pytest.raises(errors.ShapeError, match=r"b\[l\] must be \(n\[l\], 1\) = \(4, 1\), got \(2, 1\)"):
        course.linear_backward(np.ones((4, 20)), (X, params["W1"], params["b1"][:2]))


def test_course_cost_refuses_labels_outside_0_1_and_no_samples():
    with pytest.raises(errors.DataError, match=r"Y must hold values in \[0, 1\]"):
        course.compute_cost(np.full((1, 20), 0.5), 3 * Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(errors.DataError, match=r"no samples"):
            course.compute_cost(np.empty((1, 0)), np.empty((1, 0)))


# -- from files to a network ----------------------------------------------------------------------
def test_bad_values_in_binary_files_are_caught_before_training(tmp_path):
    """NPY/NPZ/IDX keep their values raw; a NaN in them is reported by fit with its place in X."""
    rng = np.random.RandomState(1)
    rows = rng.randn(10, 3)
    rows[6, 2] = np.nan  # sample 6, feature 2: X[2, 6] in the notation's layout
    np.save(tmp_path / "x.npy", rows)
    ds = load_dataset(tmp_path / "x.npy", labels=np.arange(10) % 2)
    with pytest.raises(errors.DataError, match=r"^X contains NaN or infinity \(first at \[2, 6\]\)"):
        _net().fit(ds.X, ds.targets().Y, epochs=1)
    np.savez(tmp_path / "d.npz", X=np.abs(rows[:, :2]), y=np.arange(10) % 3)
    ds = load_dataset(tmp_path / "d.npz")
    t = ds.targets()
    assert t.output == "softmax"  # 3 classes: a one-unit sigmoid network cannot take them
    with pytest.raises(errors.ShapeError, match=r"Y must be \(n\[L\], m\) = \(1, 10\), got \(3, 10\)"):
        dl.Network([2, 4, 1]).fit(ds.X, t.Y, epochs=1)
    with pytest.raises(errors.DataError, match=r"3 classes found .* use output='softmax'"):
        ds.targets("sigmoid")


# -- Model.predict (a loaded model file) -------------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    rng = np.random.RandomState(1)
    net = dl.Network([3, 4, 2], output="softmax", seed=0)
    return Model(net, Preprocessing("standard").fit(rng.randn(3, 30) * 5 + 2), classes=["cat", "dog"])


def test_model_predict_refuses_bad_raw_data(model, tmp_path):
    rng = np.random.RandomState(1)
    dl.save(model, tmp_path / "m.npz")
    loaded = dl.load(tmp_path / "m.npz")
    for m in (model, loaded):
        assert m.predict(X).shape == (1, 20)
        with pytest.raises(errors.DataError, match=r"^X contains NaN or infinity \(first at \[1, 2\]\); "
                                                   r"clean or impute it before predicting"):
            m.predict(_with(X, (1, 2), np.nan))
        with pytest.raises(errors.DataError, match=r"first at \[0, 0\]"):
            m.predict_proba(_with(X, (0, 0), np.inf))
        with pytest.raises(errors.ShapeError, match=r"X has 4 features \(rows\) but the preprocessing was fitted on 3; "
                                                    r"give X as \(n\[0\], m\) = \(3, m\)"):
            m.predict(rng.randn(4, 6))
        with pytest.raises(errors.ShapeError, match=r"X has 20 features .*did you mean X.T\?"):
            m.predict(X.T)
        with pytest.raises(errors.DataError, match=r"X has dtype <U\d+; it must hold numbers"):
            m.predict(X.astype(str))
        with pytest.raises(errors.DataError, match=r"X has no samples"):
            m.predict(np.empty((3, 0)))
        with pytest.raises(errors.DataError, match=r"X has dtype complex128; it must hold real numbers"):
            m.predict(X.astype(complex))
    bare = Model(dl.Network([3, 4, 1], seed=0))  # no preprocessing: the network's own checks
    with pytest.raises(errors.DataError, match=r"first at \[2, 3\]"):
        bare.predict(_with(X, (2, 3), -np.inf))
    with pytest.raises(errors.ShapeError, match=r"X has 5 features \(rows\) but the model was trained on n\[0\] = 3"):
        bare.predict(rng.randn(5, 2))


# -- scikit-learn estimators (scikit-learn's own validation: ValueError with a clear message) ---------
def test_estimators_report_bad_data():
    rng = np.random.RandomState(1)
    pytest.importorskip("sklearn")
    from deeplayers.sklearn import DNNClassifier, DNNRegressor

    Xr, y = X.T, (X[0] > 0).astype(int)
    kw = dict(hidden_layer_sizes=(4,), epochs=2, random_state=0)
    for Est, target in ((DNNClassifier, y), (DNNRegressor, X[1])):
        with pytest.raises(ValueError, match=r"Input X contains NaN"):
            Est(**kw).fit(_with(Xr, (4, 1), np.nan), target)
        with pytest.raises(ValueError, match=r"Input X contains infinity"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # scikit-learn's own cast to float32
                Est(**kw).fit(_with(Xr, (4, 1), np.inf), target)
        with pytest.raises(ValueError, match=r"Input y contains NaN"):
            Est(**kw).fit(Xr, _with(target, 3, np.nan))
        with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
            Est(**kw).fit(np.empty((0, 3)), np.empty(0))
        with pytest.raises(ValueError, match=r"could not convert string to float"):
            Est(**kw).fit(np.full((20, 3), "x", dtype=object), target)
        fitted = Est(**kw).fit(Xr, target)
        with pytest.raises(ValueError, match=r"X has 4 features, but \w+ is expecting 3 features as input"):
            fitted.predict(rng.randn(5, 4))
        with pytest.raises(ValueError, match=r"Input X contains NaN"):
            fitted.predict(_with(Xr, (0, 0), np.nan))
        with pytest.raises(ValueError, match=r"Expected 2D array, got 1D array instead"):
            fitted.predict(Xr[0])
    with pytest.raises(ValueError, match=r"needs samples of at least 2 classes; y holds 1 class"):
        DNNClassifier(**kw).fit(Xr, np.zeros(20))
    with pytest.raises(ValueError, match=r"Unknown label type: continuous"):
        DNNClassifier(**kw).fit(Xr, X[0])


# -- numerical safety -------------------------------------------------------------------------------
OUTPUTS = [("sigmoid", None), ("softmax", None), ("linear", None), ("sigmoid", "mse"), ("softmax", "mse"),
           ("tanh", "mse"), ("relu", "mse"), ("leaky_relu", "mse")]
HIDDEN = ["relu", "leaky_relu", "tanh", "sigmoid", "linear"]


def _strict():
    """Every Python warning is an error, and so is NumPy overflow, invalid (NaN) and divide by zero.
    Underflow stays allowed: exp(-1e4) == 0 is how a saturated sigmoid/softmax is exact."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error")
    err = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
    err.__enter__()
    return ctx, err


def _done(ctx, err):
    err.__exit__(None, None, None)
    ctx.__exit__(None, None, None)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output,loss", OUTPUTS)
def test_whole_passes_stay_finite_and_silent_for_huge_inputs(output, loss, dtype):
    """Forward, cost and backward through every hidden activation with |Z[l]| up to 1e4 and beyond."""
    Xh = np.array([[1e4, -1e4, 0.0, 5e3, -5e3, 1e4]] * 4, dtype=dtype)
    Xh[1] *= -1
    Yh = np.eye(3, dtype=dtype)[:, [0, 1, 2, 0, 1, 2]]
    for hidden in HIDDEN:
        net = dl.Network([4, 4, 3], hidden=hidden, output=output, loss=loss, dtype=dtype, seed=0)
        for layer in net.layers:  # weights +-1: Z[1] reaches +-2e4, Z[2] more for unbounded g
            layer.W[...] = np.where(layer.W >= 0, 1, -1)
        if output == "sigmoid" and loss is None:
            Yh_ = (Yh > 0).astype(dtype)  # multi-label 0/1 targets
        else:
            Yh_ = Yh
        ctx, err = _strict()
        try:
            AL = net.forward(Xh)
            J = net.cost(AL, Yh_, l2=0.1)
            grads = net.backward(Yh_, l2=0.1)
        finally:
            _done(ctx, err)
        assert AL.dtype == np.dtype(dtype) and np.isfinite(AL).all(), hidden
        assert np.isfinite(J), hidden
        assert all(np.isfinite(g).all() for g in grads.values()), hidden
        assert np.abs(net[1].cache.Z).max() >= 1e4  # the inputs really were huge


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_losses_and_their_gradients_stay_finite_at_saturation(dtype):
    AL = np.array([[0.0, 1.0, 1e-30, 1 - 1e-7, 0.5]] * 2, dtype=dtype)
    Y = np.array([[1.0, 0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0, 0.0]], dtype=dtype)
    w = np.array([1.0, 2.0, 0.5, 1.0, 0.5], dtype=dtype)
    for name in set(type(get_loss(n)).__name__ for n in LOSSES):
        loss = next(get_loss(n) for n in LOSSES if type(get_loss(n)).__name__ == name)
        ctx, err = _strict()
        try:
            values = [loss.cost(AL, Y), loss.cost(AL, Y, w), loss.cost(AL.copy(), Y, reuse=True)]
            grads = [loss.dAL(AL, Y), loss.fused_dZ(AL, Y), loss.per_sample(AL, Y)]
        finally:
            _done(ctx, err)
        assert all(np.isfinite(v) for v in values), name
        assert all(np.isfinite(g).all() for g in grads), name


@pytest.mark.parametrize("output,dtype", [("linear", "float64"), ("linear", "float32"), ("sigmoid", "float32"),
                                          ("softmax", "float32")])
def test_divergence_is_detected_for_every_output(output, dtype):
    rng = np.random.RandomState(5)
    Xh = rng.randn(4, 30) * 1e4
    Yh = np.eye(3)[:, rng.randint(0, 3, 30)]
    net = dl.Network([4, 5, 3], output=output, dtype=dtype, seed=0)
    with warnings.catch_warnings():
        with pytest.raises(errors.DivergenceError, match=r"training diverged at iteration \d+ \(epoch \d+\): (the cost "
                                                          r"became (nan|inf)|the parameters became NaN or infinite)"):
            net.fit(Xh, Yh, epochs=50, learning_rate=10.0)


@pytest.mark.parametrize("epochs", [1, 3])
def test_an_overflowing_update_is_divergence_and_parameters_stay_finite(epochs):
    rng = np.random.RandomState(1)
    Xh = rng.randn(4, 30) * 100
    Yh = (Xh[:1] > 0).astype(float)
    net = dl.Network([4, 5, 1], dtype="float32", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(errors.DivergenceError, match=r"smaller learning rate"):
            net.fit(Xh, Yh, epochs=epochs, learning_rate=1e38)
    assert all(np.isfinite(v).all() for v in net.parameters.values())


def test_divergence_is_reported_without_numpy_warnings():
    rng = np.random.RandomState(1)
    Xh = rng.randn(4, 30) * 1e4
    Yh = np.eye(3)[:, rng.randint(0, 3, 30)]
    net = dl.Network([4, 5, 3], output="softmax", dtype="float32", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(errors.DivergenceError):
            net.fit(Xh, Yh, epochs=50, learning_rate=10.0)


@pytest.mark.parametrize("where", ["W", "b"])
def test_training_refuses_parameters_that_are_not_finite(where):
    # gradient descent from a NaN or inf parameter could only report a divergence at iteration 0
    net = dl.Network([3, 4, 1], seed=0)
    getattr(net[2], where)[0, 0] = np.inf if where == "W" else np.nan
    before = {k: v.copy() for k, v in net.parameters.items()}
    with pytest.raises(errors.DataError, match=rf"{where}\[2\] contains NaN or infinity \(first at \[0, 0\]\); "
                                               r"training needs finite parameters"):
        net.fit(np.ones((3, 5)), np.ones((1, 5)), num_iterations=3)
    for k, v in net.parameters.items():
        np.testing.assert_array_equal(v, before[k])
