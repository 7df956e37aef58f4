"""The scikit-learn face: DNNClassifier / DNNRegressor against scikit-learn's own checks and tools,
against MLPClassifier side by side, and against independent fits (sample weights, warm starts)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, make_blobs  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_sample_weight_equivalence_on_dense_data,
    parametrize_with_checks,
)

import deeplayers as dl  # noqa: E402
from deeplayers.sklearn import DNNClassifier, DNNRegressor  # noqa: E402

# Fewer epochs and a larger step than the defaults, only to keep scikit-learn's ~130 checks fast;
# every other parameter is the default (float32 training, mini-batches, Adam, L2 1e-4). The
# regressor's step is smaller: at 0.01 its cost on the checks' unscaled data swings from 1.2 to 170
# and ends at 28, a divergence that fit reports (DivergenceError) instead of returning that model.
CHECKED = [DNNClassifier(epochs=20, learning_rate=0.01), DNNRegressor(epochs=20, learning_rate=0.003)]

EXPECTED_FAILED = {
    # Exact equivalence (rtol 1e-7) of integer weights and repeated rows cannot hold for float32
    # training of the classifier: the weighted and the repeated costs round differently, and the
    # difference grows over the epochs. The L2 term counts weights, not rows (lambda / (2 sum(w))),
    # so the same check passes in float64 with every default: test_sample_weight_equivalence_float64.
    # (The regressor's float32 run happens to round alike on the check's data, and passes.)
    DNNClassifier: {"check_sample_weight_equivalence_on_dense_data": "float32 rounding; passes in float64"},
}


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est), {}),
                         xfail_strict=True)
def test_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("Est", [DNNClassifier, DNNRegressor])
def test_sample_weight_equivalence_float64(Est):
    # the check scikit-learn runs above, where it holds exactly: zero / integer weights are the
    # same as dropping / repeating rows, in float64 with every other parameter at its default
    # (L2 1e-4 included: the penalty is divided by the sum of the weights, as a count of rows)
    check_sample_weight_equivalence_on_dense_data(Est.__name__, Est(dtype="float64"))


def _iris(scale: bool = True):
    X, y = load_iris(return_X_y=True)
    return (StandardScaler().fit_transform(X) if scale else X), y


# a constant rate: these 60 full-batch steps test the tools, not the default cosine schedule
FAST = dict(hidden_layer_sizes=(16,), learning_rate=0.02, epochs=60, lr_schedule="constant", random_state=0)


# -- scikit-learn's tools ------------------------------------------------------------------------
def test_pipeline():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), DNNClassifier(**FAST)).fit(X, y)
    assert pipe.score(X, y) > 0.95
    assert pipe.predict_proba(X).shape == (150, 3)
    assert pipe[-1].n_features_in_ == 4


def test_clone_keeps_parameters_drops_fit():
    clf = DNNClassifier(hidden_layer_sizes=(8, 4), activation=("tanh", "relu"), keep_prob=0.9, random_state=3)
    clf.fit(*_iris())
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "network_")


def test_grid_search():
    X, y = _iris()
    grid = GridSearchCV(DNNClassifier(**FAST), {"hidden_layer_sizes": [(4,), (16,)], "l2": [0.0, 1.0]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.9
    assert set(grid.best_params_) == {"hidden_layer_sizes", "l2"}
    assert isinstance(grid.best_estimator_.network_, dl.Network)


def test_cross_val_score():
    X, y = _iris()
    scores = cross_val_score(DNNClassifier(**FAST), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.9


def test_pickle_round_trip_gives_same_predictions():
    X, y = _iris()
    clf = DNNClassifier(**FAST).fit(X, y)
    blob = pickle.dumps(clf)
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.network_.layer_dims == [4, 16, 3] and back.network_.dtype == np.float32
    assert back.network_.history.n_iter == clf.network_.history.n_iter
    # the network travels as its parameters, not its training buffers
    assert len(blob) < 4 * clf.network_.n_params + 20_000
    # and training can go on after loading (optimizer state came along)
    back.partial_fit(X, y)
    assert back.n_iter_ == clf.n_iter_ + 1


# -- the classifier ---------------------------------------------------------------------------
def test_binary_probabilities_have_two_columns_and_match_the_network():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = DNNClassifier(**FAST).fit(X, y)
    P = clf.predict_proba(X)
    assert P.shape == (len(X), 2) and P.dtype == np.float64
    assert clf.network_.layer_dims == [30, 16, 1] and clf.network_.activations == ["relu", "sigmoid"]
    # the engine's own A[L] (float32), samples as columns
    np.testing.assert_allclose(P[:, 1], clf.network_.predict_proba(X.T.astype(np.float32))[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), (P[:, 1] > 0.5).astype(int))


def test_string_labels_round_trip_through_classes():
    X, y = _iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = DNNClassifier(**FAST).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    assert clf.network_.activations[-1] == "softmax" and clf.network_.layer_dims[-1] == 3
    pred = clf.predict(X)
    assert pred.dtype.kind == "U" and np.mean(pred == names) > 0.95
    np.testing.assert_array_equal(pred, clf.classes_[np.argmax(clf.predict_proba(X), axis=1)])
    # binary strings: one sigmoid unit, classes_ sorted, P[:, 1] is the second class
    mask = y > 0
    clf2 = DNNClassifier(**FAST).fit(X[mask], names[mask])
    assert clf2.network_.layer_dims[-1] == 1
    np.testing.assert_array_equal(clf2.classes_, ["versicolor", "virginica"])


def test_multilabel_indicator():
    X, y = _iris()
    Y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(int)  # 3 independent labels
    clf = DNNClassifier(**FAST).fit(X, Y)
    assert clf.network_.activations[-1] == "sigmoid" and clf.network_.layer_dims[-1] == 3
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    P, pred = clf.predict_proba(X), clf.predict(X)
    assert P.shape == pred.shape == (150, 3)
    np.testing.assert_array_equal(pred, (P > 0.5).astype(int))
    assert np.mean(pred == Y) > 0.95


def test_one_class_and_bad_targets_are_reported():
    X, _ = _iris()
    with pytest.raises(ValueError, match="at least 2 classes; y holds 1 class"):
        DNNClassifier().fit(X, np.ones(150))
    with pytest.raises(ValueError, match="Unknown label type"):
        DNNClassifier().fit(X, np.linspace(0, 1, 150))
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        DNNClassifier().fit(X, np.column_stack([np.arange(150) % 3, np.arange(150) % 2]))
    with pytest.raises(ValueError, match="one per hidden layer: hidden_layer_sizes has 2 layers, activation has 1"):
        DNNClassifier(hidden_layer_sizes=(4, 4), activation=["relu"]).fit(X, np.arange(150) % 2)


def test_sample_weight_zero_equals_dropping_samples():
    # independent fit on the kept rows; full batch, so both see the same steps (float64, l2=0)
    X, y = _iris()
    rng = np.random.RandomState(0)
    w = (rng.rand(150) > 0.3).astype(float)
    params = dict(FAST, dtype="float64", l2=0.0, batch_size=None)
    weighted = DNNClassifier(**params).fit(X, y, sample_weight=w)
    dropped = DNNClassifier(**params).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, dropped.loss_curve_, rtol=1e-9)
    # and the weights do change the fit
    plain = DNNClassifier(**params).fit(X, y)
    assert np.abs(plain.predict_proba(X) - weighted.predict_proba(X)).max() > 1e-3


def test_class_weight_balanced_equals_its_sample_weights():
    X, y = make_blobs(n_samples=[200, 20], centers=[[0, 0], [1.5, 1.5]], random_state=0)
    params = dict(FAST, batch_size=None)
    balanced = DNNClassifier(class_weight="balanced", **params).fit(X, y)
    # "balanced": m / (n_classes * count(class)), written out independently
    w = np.where(y == 0, 220 / (2 * 200), 220 / (2 * 20))
    by_hand = DNNClassifier(**params).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(balanced.predict_proba(X), by_hand.predict_proba(X), rtol=1e-6)
    # it buys recall on the small class
    plain = DNNClassifier(**params).fit(X, y)
    recall = lambda clf: np.mean(clf.predict(X)[y == 1] == 1)  # noqa: E731
    assert recall(balanced) > recall(plain)
    dict_weights = DNNClassifier(class_weight={0: 220 / 400, 1: 220 / 40}, **params).fit(X, y)
    np.testing.assert_allclose(dict_weights.predict_proba(X), balanced.predict_proba(X), rtol=1e-6)


def test_warm_start_continues_the_same_run():
    # full batch, no shuffling effects: 2 x 15 warm-started epochs == 30 epochs in one go, which
    # holds only if the weights AND the Adam state (moments, step t) carry over
    X, y = _iris()
    # a constant rate: a schedule restarts with every fit (test_schedule_runs_over_each_fit)
    params = dict(FAST, dtype="float64", batch_size=None, n_iter_no_change=100, lr_schedule="constant")
    once = DNNClassifier(**{**params, "epochs": 30}).fit(X, y)
    warm = DNNClassifier(**{**params, "epochs": 15}, warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 30 and len(warm.loss_curve_) == 30
    np.testing.assert_allclose(warm.loss_curve_, once.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(warm.predict_proba(X), once.predict_proba(X), rtol=1e-10)
    # without warm_start, fit starts over
    cold = DNNClassifier(**{**params, "epochs": 15}).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 15
    with pytest.raises(ValueError, match="same classes as in the previous call"):
        warm.fit(X, np.where(y == 2, 1, y))


def test_partial_fit_keeps_optimizer_state():
    X, y = _iris()
    params = dict(FAST, dtype="float64", batch_size=None, lr_schedule="constant")
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        DNNClassifier(**params).partial_fit(X, y)
    inc = DNNClassifier(**params)
    for _ in range(20):
        inc.partial_fit(X, y, classes=[0, 1, 2])
    assert inc.n_iter_ == 20 and inc._optimizer.t == 20
    full = DNNClassifier(**{**params, "epochs": 20, "n_iter_no_change": 100}).fit(X, y)
    np.testing.assert_allclose(inc.predict_proba(X), full.predict_proba(X), rtol=1e-10)
    # a batch holding only some of the classes is fine once classes_ is known
    inc.partial_fit(X[y == 0], y[y == 0])
    np.testing.assert_array_equal(inc.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among classes_"):
        inc.partial_fit(X[:2], [0, 7])


def test_schedule_runs_over_each_fit():
    """The schedule sees the epochs of each fit call (a warm start restarts it); partial_fit's
    single epochs train at the base learning rate."""
    X, y = _iris()
    seen = []

    def schedule(epoch, lr0):
        seen.append(epoch)
        return lr0 * 0.5**epoch

    clf = DNNClassifier(**{**FAST, "epochs": 3, "lr_schedule": schedule}, warm_start=True).fit(X, y)
    clf.fit(X, y)
    assert seen == [0, 1, 2, 0, 1, 2]
    clf.partial_fit(X, y)
    assert seen[-1] == 0 and clf._optimizer.learning_rate == FAST["learning_rate"]
    # the default: half a cosine over the epochs of the fit, as the engine's "cosine"
    params = dict(FAST, dtype="float64", batch_size=None, epochs=6, n_iter_no_change=100)
    del params["lr_schedule"]
    assert DNNClassifier().lr_schedule == "cosine"
    est = DNNClassifier(**params).fit(X, y)
    net = est.network_
    const = DNNClassifier(**params, lr_schedule="constant").fit(X, y)
    assert not np.allclose(est.loss_curve_[1:], const.loss_curve_[1:])
    assert net.history.lr == pytest.approx([0.02 * (1 + np.cos(np.pi * e / 6)) / 2 for e in range(6)])
    with pytest.raises(ValueError, match="'lr_schedule' parameter of DNNClassifier must be"):
        DNNClassifier(lr_schedule="cosinus").fit(X, y)


def test_early_stopping_records_validation_and_stops():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = DNNClassifier(hidden_layer_sizes=(32,), learning_rate=0.01, epochs=200, early_stopping=True,
                        validation_fraction=0.2, n_iter_no_change=3, random_state=0).fit(X, y)
    assert clf.n_iter_ < 200 and len(clf.validation_loss_curve_) == clf.n_iter_ == len(clf.loss_curve_)
    best = int(np.argmin(clf.validation_loss_curve_))
    assert clf.network_.history.best_epoch == best and clf.network_.history.stopped_early
    assert DNNClassifier(**FAST).fit(*_iris()).validation_loss_curve_ is None


def test_parameter_validation_is_declarative():
    X, y = _iris()
    for bad in [dict(epochs=0), dict(optimizer="lbfgs"), dict(batch_size=0), dict(dtype="float16"),
                dict(activation="softmax"), dict(init="zeros"), dict(validation_fraction=1.0)]:
        with pytest.raises(ValueError, match=f"'{next(iter(bad))}' parameter of DNNClassifier must be"):
            DNNClassifier(**bad).fit(X, y)


# -- the regressor ----------------------------------------------------------------------------
def test_regressor_single_and_multi_output():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.sin(2 * X[:, 0])])
    reg = DNNRegressor(hidden_layer_sizes=(32, 16), learning_rate=0.01, epochs=200, random_state=0)
    reg.fit(X, Y)
    assert reg.predict(X).shape == (300, 2) and reg.score(X, Y) > 0.9
    assert reg.network_.activations == ["relu", "relu", "linear"] and reg.network_.loss.name == "mse"
    single = clone(reg).fit(X, Y[:, 1])
    assert single.predict(X).shape == (300,) and single.score(X, Y[:, 1]) > 0.9
    # loss_curve_ is the engine's cost: (1/(2m)) sum (A - y)^2 plus the L2 term
    assert single.loss_curve_[-1] < 0.5 * np.var(Y[:, 1])


# -- side by side with scikit-learn's MLPClassifier ----------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("loader, splits", [(load_digits, 3), (load_breast_cancer, 5), (load_iris, 10)])
def test_accuracy_at_least_mlpclassifier(loader, splits):
    """MLPClassifier with its defaults (one hidden layer of 100 ReLU units, Adam at a constant
    0.001, batches of min(200, m), alpha = 1e-4, 200 epochs) against DNNClassifier set to the same
    (the same lambda/(2 m_batch) ||W||^2; lr_schedule="constant", as MLP's Adam has no schedule),
    on the same standardized splits; both run all 200 epochs (n_iter_no_change=200) and keep their
    own default initializer. Compared on the correct test predictions summed over the splits."""
    X, y = loader(return_X_y=True)
    ours, theirs, n_test = [], [], 0
    for seed in range(splits):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        dnn = DNNClassifier(hidden_layer_sizes=(100,), optimizer="adam", learning_rate=1e-3, lr_schedule="constant",
                            batch_size="auto", epochs=200, l2=1e-4, n_iter_no_change=200, random_state=seed)
        mlp = MLPClassifier(n_iter_no_change=200, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours.append(int(np.sum(dnn.fit(Xtr, ytr).predict(Xte) == yte)))
            theirs.append(int(np.sum(mlp.fit(Xtr, ytr).predict(Xte) == yte)))
        assert dnn.n_iter_ == mlp.n_iter_ == 200
        n_test += len(yte)
    print(f"{loader.__name__}: DNNClassifier {sum(ours) / n_test:.4f}, MLPClassifier {sum(theirs) / n_test:.4f} "
          f"(correct per split: {ours} vs {theirs}, {n_test} test predictions)")
    assert sum(ours) >= sum(theirs)


def test_a_passing_spike_is_not_divergence_but_a_model_worse_than_guessing_is():
    # the data of scikit-learn's check_fit_check_is_fitted: unscaled X around 100, noise targets.
    # At 0.005 Adam's first steps overshoot (cost 1.4 -> 38) and the run recovers (0.64): no error.
    # At 0.01 it ends (the convergence rule stops it) at 27.5, 19 times its start: DivergenceError.
    rng = np.random.RandomState(42)
    X, y = rng.normal(loc=100, size=(100, 2)), rng.normal(size=100)
    est = DNNRegressor(epochs=20, learning_rate=0.005, random_state=0).fit(X, y)
    assert max(est.loss_curve_) > 10 * max(est.loss_curve_[0], np.mean(y**2) / 2) and est.loss_curve_[-1] < 1
    with pytest.raises(dl.DivergenceError, match=r"the cost rose to 27\.5\d*, more than 10 times .* when the run "
                                                 r"ended\. .*\(it was 0\.01, 0\.005 in the last epoch by the schedule;") as info:
        DNNRegressor(epochs=20, learning_rate=0.01, random_state=0).fit(X, y)
    assert len(info.value.history.cost) == 11


def test_an_optimizer_objects_own_rate_is_never_silently_replaced():
    """DNNClassifier(optimizer=dl.Adam(learning_rate=0.01)) once trained at the default 0.001."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    kw = dict(hidden_layer_sizes=(8,), epochs=3, random_state=0, lr_schedule="constant")
    with pytest.raises(ValueError, match=r"optimizer=Adam\(learning_rate=0.01\) has its own learning rate 0.01, but "
                       r"learning_rate=0.001 would replace it: pass learning_rate=None"):
        DNNClassifier(optimizer=dl.Adam(learning_rate=0.01), **kw).fit(X, y)
    own = DNNClassifier(optimizer=dl.Adam(learning_rate=0.01), learning_rate=None, **kw).fit(X, y)
    named = DNNClassifier(optimizer="adam", learning_rate=0.01, **kw).fit(X, y)
    slow = DNNClassifier(optimizer="adam", learning_rate=0.001, **kw).fit(X, y)
    assert own.loss_curve_ == named.loss_curve_ != slow.loss_curve_
    assert DNNClassifier(optimizer=dl.Adam(), **kw).fit(X, y).loss_curve_ == slow.loss_curve_  # alike: fine


def test_one_class_is_named_as_the_label_not_its_numpy_repr():
    with pytest.raises(ValueError, match=r"y holds 1 class \(0.0\)$"):
        DNNClassifier(epochs=2).fit(np.ones((5, 2)), np.zeros(5))


def test_a_regression_target_past_float32s_range_is_named():
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"^y holds values beyond float32's range .*: scale it, or use dtype='float64'$"):
        DNNRegressor(epochs=2).fit(X, np.arange(10) * 1e200)


def test_partial_fit_refuses_balanced_class_weight_after_fit_too():
    """'balanced' needs the counts of the whole y. partial_fit refused it on its first call but, after a
    fit, silently weighted each batch by that batch's own counts (a batch of 50 setosa and 10 others
    got weights 0.6 and 3.0, where the fitted data's are 1.0 for every class)."""
    X, y = _iris()
    est = DNNClassifier(**FAST, class_weight="balanced").fit(X, y)
    before = {k: v.copy() for k, v in est.network_.parameters.items()}
    with pytest.raises(ValueError, match="class_weight='balanced' needs the whole y and is not supported by partial_fit"):
        est.partial_fit(X[:60], y[:60])
    assert all(np.array_equal(before[k], v) for k, v in est.network_.parameters.items())
    # a dict of weights is what the message offers, and it works after fit
    est.set_params(class_weight={0: 1.0, 1: 1.0, 2: 1.0}).partial_fit(X[:60], y[:60])


def test_partial_fit_on_other_targets_says_to_call_fit():
    """The message named warm_start=False, which partial_fit does not read."""
    X, y = _iris()
    reg = DNNRegressor(**FAST).partial_fit(X, y.astype(float))
    with pytest.raises(ValueError, match=r"layer_dims=\[4, 16, 2\].*call fit to train a new network"):
        reg.partial_fit(X, np.c_[y, y].astype(float))
    clf = DNNClassifier(**FAST, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="set warm_start=False to train a new network"):
        clf.set_params(hidden_layer_sizes=(3,)).fit(X, y)


def test_check_estimator_with_the_defaults_as_the_docs_say():
    """docs/sklearn.md: with every default both pass check_estimator, except the regressor's float32
    rounding in check_sample_weight_equivalence_on_dense_data, which float64 passes."""
    from sklearn.utils.estimator_checks import check_estimator

    def failed(est):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [r["check_name"] for r in check_estimator(est, on_fail=None) if r["status"] == "failed"]

    assert failed(DNNClassifier(random_state=0)) == []
    assert failed(DNNRegressor(random_state=0)) == ["check_sample_weight_equivalence_on_dense_data"]
    assert failed(DNNRegressor(random_state=0, dtype="float64")) == []
