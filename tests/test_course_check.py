"""``deeplayers.course.check`` and ``deeplayers check FILE.py`` (issue 15): a learner's own course
functions against deeplayers'. A course-style transcription (written here from the course's
formulas) passes; each well-known mistake, planted one at a time, is caught AND named."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from deeplayers import course
from deeplayers.cli import main
from deeplayers.course_check import COURSE_FUNCTIONS, MISTAKES, check_file, load_functions
from deeplayers.errors import ConfigError

# A learner's notebook, as the course's step-by-step assignment has them write it.
LEARNER = textwrap.dedent('''
    import numpy as np


    def sigmoid(Z):
        return 1 / (1 + np.exp(-Z)), Z


    def relu(Z):
        return np.maximum(0, Z), Z


    def sigmoid_backward(dA, cache):
        Z = cache
        s = 1 / (1 + np.exp(-Z))
        return dA * s * (1 - s)


    def relu_backward(dA, cache):
        Z = cache
        dZ = np.array(dA, copy=True)
        dZ[Z <= 0] = 0
        return dZ


    def initialize_parameters_deep(layer_dims):
        np.random.seed(3)
        parameters = {}
        L = len(layer_dims)
        for l in range(1, L):
            parameters['W' + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01
            parameters['b' + str(l)] = np.zeros((layer_dims[l], 1))
        return parameters


    def linear_forward(A, W, b):
        Z = np.dot(W, A) + b
        cache = (A, W, b)
        return Z, cache


    def linear_activation_forward(A_prev, W, b, activation):
        if activation == "sigmoid":
            Z, linear_cache = linear_forward(A_prev, W, b)
            A, activation_cache = sigmoid(Z)
        elif activation == "relu":
            Z, linear_cache = linear_forward(A_prev, W, b)
            A, activation_cache = relu(Z)
        cache = (linear_cache, activation_cache)
        return A, cache


    def L_model_forward(X, parameters):
        caches = []
        A = X
        L = len(parameters) // 2
        for l in range(1, L):
            A_prev = A
            A, cache = linear_activation_forward(A_prev, parameters['W' + str(l)], parameters['b' + str(l)], "relu")
            caches.append(cache)
        AL, cache = linear_activation_forward(A, parameters['W' + str(L)], parameters['b' + str(L)], "sigmoid")
        caches.append(cache)
        return AL, caches


    def compute_cost(AL, Y):
        m = Y.shape[1]
        cost = (1. / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))
        cost = np.squeeze(cost)
        return cost


    def linear_backward(dZ, cache):
        A_prev, W, b = cache
        m = A_prev.shape[1]
        dW = 1. / m * np.dot(dZ, A_prev.T)
        db = 1. / m * np.sum(dZ, axis=1, keepdims=True)
        dA_prev = np.dot(W.T, dZ)
        return dA_prev, dW, db


    def linear_activation_backward(dA, cache, activation):
        linear_cache, activation_cache = cache
        if activation == "relu":
            dZ = relu_backward(dA, activation_cache)
        elif activation == "sigmoid":
            dZ = sigmoid_backward(dA, activation_cache)
        dA_prev, dW, db = linear_backward(dZ, linear_cache)
        return dA_prev, dW, db


    def L_model_backward(AL, Y, caches):
        grads = {}
        L = len(caches)
        Y = Y.reshape(AL.shape)
        dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
        current_cache = caches[L - 1]
        dA_prev_temp, dW_temp, db_temp = linear_activation_backward(dAL, current_cache, "sigmoid")
        grads["dA" + str(L - 1)] = dA_prev_temp
        grads["dW" + str(L)] = dW_temp
        grads["db" + str(L)] = db_temp
        for l in reversed(range(L - 1)):
            current_cache = caches[l]
            dA_prev_temp, dW_temp, db_temp = linear_activation_backward(grads["dA" + str(l + 1)], current_cache, "relu")
            grads["dA" + str(l)] = dA_prev_temp
            grads["dW" + str(l + 1)] = dW_temp
            grads["db" + str(l + 1)] = db_temp
        return grads


    def update_parameters(params, grads, learning_rate):
        parameters = params.copy()
        L = len(parameters) // 2
        for l in range(L):
            parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate * grads["dW" + str(l + 1)]
            parameters["b" + str(l + 1)] = parameters["b" + str(l + 1)] - learning_rate * grads["db" + str(l + 1)]
        return parameters
''')


def learner(tmp_path: Path, *plants: tuple[str, str], name: str = "notebook.py") -> dict:
    """The learner's functions, with each (right line, wrong line) planted; loaded from a file as the CLI does."""
    src = LEARNER
    for right, wrong in plants:
        assert src.count(right) == 1, right
        src = src.replace(right, wrong)
    path = tmp_path / name
    path.write_text(src)
    return load_functions(path)


def test_a_correct_implementation_passes_every_function(tmp_path):
    fns = learner(tmp_path)
    assert list(fns) == list(COURSE_FUNCTIONS)
    for name, fn in fns.items():
        report = course.check(fn)
        assert report.ok, str(report)
        assert bool(report) and report.name == name and report.mistake is None
        assert str(report).startswith(f"{name}: OK, every output equals deeplayers' on ")
    # the cases cover L = 1, m = 1 and non-square layers
    text = str(course.check(fns["L_model_backward"]))
    assert "layer_dims = [3, 1], m = 1" in text and "layer_dims = [5, 4, 2, 1], m = 6" in text
    assert "(n[l], n[l-1], m) = (1, 3, 1)" in str(course.check(fns["linear_backward"]))
    # the application notebook's initializer (seed 1, / sqrt(n[l-1])) is the course's too
    app = learner(tmp_path, ("np.random.seed(3)", "np.random.seed(1)"),
                  ("layer_dims[l - 1]) * 0.01", "layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])"), name="app.py")
    assert course.check(app["initialize_parameters_deep"]).ok


PLANTS = [
    # (mistake key, the function it is planted in, the functions that must catch and name it, right, wrong)
    ("dW_m", "linear_backward", ["linear_backward", "linear_activation_backward", "L_model_backward"],
     "dW = 1. / m * np.dot(dZ, A_prev.T)", "dW = np.dot(dZ, A_prev.T)"),
    ("A_l", "linear_activation_forward", ["linear_activation_forward", "L_model_forward"],
     "cache = (linear_cache, activation_cache)", "cache = ((A, W, b), activation_cache)"),
    ("W_T", "linear_backward", ["linear_backward", "linear_activation_backward", "L_model_backward"],
     "dA_prev = np.dot(W.T, dZ)", "dA_prev = np.dot(W, dZ)"),
    ("keepdims", "linear_backward", ["linear_backward", "linear_activation_backward", "L_model_backward"],
     "db = 1. / m * np.sum(dZ, axis=1, keepdims=True)", "db = 1. / m * np.sum(dZ, axis=1)"),
    ("dA_off", "L_model_backward", ["L_model_backward"],
     'grads["dA" + str(L - 1)] = dA_prev_temp', 'grads["dA" + str(L)] = dA_prev_temp'),
    ("dAL_sign", "L_model_backward", ["L_model_backward"],
     "dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))", "dAL = (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))"),
    ("relu_place", "L_model_backward", ["L_model_backward"],
     'linear_activation_backward(dAL, current_cache, "sigmoid")', 'linear_activation_backward(dAL, current_cache, "relu")'),
    ("W1", "L_model_forward", ["L_model_forward"],
     "parameters['W' + str(l)], parameters['b' + str(l)], \"relu\"", "parameters['W1'], parameters['b1'], \"relu\""),
    ("star", "linear_forward", ["linear_forward", "linear_activation_forward", "L_model_forward"],
     "Z = np.dot(W, A) + b", "Z = W * A + b"),
    ("cost_sign", "compute_cost", ["compute_cost"],
     "cost = (1. / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))",
     "cost = (1. / m) * (np.dot(Y, np.log(AL).T) + np.dot(1 - Y, np.log(1 - AL).T))"),
    ("db_axis", "linear_backward", ["linear_backward", "linear_activation_backward", "L_model_backward"],
     "db = 1. / m * np.sum(dZ, axis=1, keepdims=True)", "db = np.sum(dZ) / m"),
    ("relu_dA", "linear_activation_backward", ["linear_activation_backward", "L_model_backward"],
     "dZ = np.array(dA, copy=True)\n    dZ[Z <= 0] = 0", "dZ = np.where(dA > 0, dA, 0)"),
    ("init_scale", "initialize_parameters_deep", ["initialize_parameters_deep"],
     "layer_dims[l - 1]) * 0.01", "layer_dims[l - 1])"),
]


@pytest.mark.parametrize("key,planted_in,caught_by,right,wrong", PLANTS, ids=[p[0] for p in PLANTS])
def test_each_planted_mistake_is_caught_and_named(tmp_path, key, planted_in, caught_by, right, wrong):
    fns = learner(tmp_path, (right, wrong))
    for name in caught_by:
        report = course.check(fns[name])
        text = str(report)
        assert not report.ok and not bool(report), text
        assert report.mistake_key == key, text
        assert "likely mistake" in text and MISTAKES[key] in text, text
        assert text.startswith(f"{name}: FAILED on ")
    # every function that does not call the planted one still passes
    assert planted_in in caught_by
    for name in set(COURSE_FUNCTIONS) - set(caught_by):
        assert course.check(fns[name]).ok, name


def test_the_report_names_the_key_the_layer_and_expected_vs_got(tmp_path):
    fns = learner(tmp_path, ("dW = 1. / m * np.dot(dZ, A_prev.T)", "dW = np.dot(dZ, A_prev.T)"))
    text = str(course.check(fns["L_model_backward"]))
    # with m = 1 (cases 1 and 4) 1/m changes nothing; case 2 shows it, at the output layer first
    assert "L_model_backward: FAILED on 2 of 4 cases; first: layer_dims = [5, 4, 2, 1], m = 6" in text
    assert "grads['dW3'] (layer 3): values differ: at [" in text and "expected " in text and ", got " in text
    assert "dW without 1/m" in text
    fns = learner(tmp_path, ("db = 1. / m * np.sum(dZ, axis=1, keepdims=True)", "db = 1. / m * np.sum(dZ, axis=1)"),
                  name="keepdims.py")
    text = str(course.check(fns["linear_backward"]))
    assert "db: shape: expected (1, 1), got (1,)" in text
    fns = learner(tmp_path, ('grads["dA" + str(L - 1)] = dA_prev_temp', 'grads["dA" + str(L)] = dA_prev_temp'),
                  name="off.py")
    text = str(course.check(fns["L_model_backward"]))
    assert "grads: keys: missing dA0; unexpected dA1 (expected dA0, dW1, db1)" in text


def test_more_mistakes_from_the_forums_are_named(tmp_path):
    cases = [
        ("L_model_backward", 'linear_activation_backward(grads["dA" + str(l + 1)], current_cache, "relu")',
         'linear_activation_backward(grads["dA" + str(l + 2)], current_cache, "relu")', "dA_off"),
        ("L_model_forward", "A = X\n    L = len(parameters) // 2", "A = X\n    L = len(parameters)", "L_params"),
        ("initialize_parameters_deep", "np.random.randn(layer_dims[l], layer_dims[l - 1])",
         "np.random.randn(layer_dims[l - 1], layer_dims[l])", "W_shape"),
        ("initialize_parameters_deep", "np.zeros((layer_dims[l], 1))", "np.zeros(layer_dims[l])", "b_column"),
        ("compute_cost", "cost = np.squeeze(cost)", "cost = cost", "squeeze"),
        ("compute_cost", "cost = (1. / m) * (", "cost = (", "cost_m"),
        ("update_parameters", '- learning_rate * grads["dW" + str(l + 1)]', '+ learning_rate * grads["dW" + str(l + 1)]',
         "update_sign"),
        ("linear_activation_forward", 'A, activation_cache = sigmoid(Z)', 'A, activation_cache = relu(Z)', "g_swapped"),
        ("L_model_backward", "dZ = np.array(dA, copy=True)", "dZ = dA", "inplace"),
        ("L_model_backward", 'dA_prev_temp, dW_temp, db_temp = linear_activation_backward(dAL, current_cache, "sigmoid")',
         "dA_prev_temp, dW_temp, db_temp = linear_backward(AL - Y, current_cache[0])", "fused"),
        ("update_parameters", '- learning_rate * grads["db" + str(l + 1)]', "", "b_update"),
    ]
    for i, (name, right, wrong, key) in enumerate(cases):
        report = course.check(learner(tmp_path, (right, wrong), name=f"m{i}.py")[name])
        assert not report.ok, (name, wrong)
        assert report.mistake_key == key, (name, wrong, str(report))


def test_the_cost_sign_and_db_over_every_entry_are_named_apart_from_the_gradient_mistakes(tmp_path):
    fns = learner(tmp_path, ("cost = (1. / m) * (-np.dot(Y", "cost = (1. / m) * (np.dot(Y"),
                  ("- np.dot(1 - Y, np.log(1 - AL).T))", "+ np.dot(1 - Y, np.log(1 - AL).T))"))
    text = str(course.check(fns["compute_cost"]))
    assert "cost: value differs: expected 0.777492, got -0.777492" in text  # J = -log(0.4595...) for m = 1
    assert "likely mistake: the cost has the opposite sign: the cross-entropy has a leading minus" in text
    assert "gradient" not in text  # compute_cost has none
    # db summed with keepdims but without axis=1: one (1, 1) number, which keepdims cannot fix
    fns = learner(tmp_path, ("db = 1. / m * np.sum(dZ, axis=1, keepdims=True)", "db = 1. / m * np.sum(dZ, keepdims=True)"),
                  name="db.py")
    report = course.check(fns["linear_backward"])
    assert report.mistake_key == "db_axis" and "db: shape: expected (4, 1), got (1, 1)" in str(report)
    assert "without axis=1" in report.mistake and "keepdims" not in MISTAKES["db_axis"].split(";")[0]
    # correct variants of the same lines still pass
    right = learner(tmp_path, ("cost = (1. / m) * (-np.dot(Y, np.log(AL).T) - np.dot(1 - Y, np.log(1 - AL).T))",
                               "cost = -np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))"),
                    ("db = 1. / m * np.sum(dZ, axis=1, keepdims=True)", "db = np.mean(dZ, axis=1, keepdims=True)"),
                    ("dZ = np.array(dA, copy=True)\n    dZ[Z <= 0] = 0", "dZ = np.where(Z > 0, dA, 0)"), name="right.py")
    assert all(course.check(right[n]).ok for n in ("compute_cost", "linear_backward", "L_model_backward"))


def test_the_initializer_diagnosis_names_the_scaling_expected_and_found(tmp_path):
    """The seed says which notebook is meant: seed(3) goes with * 0.01, seed(1) with / np.sqrt(n[l-1])."""
    step = "the step-by-step notebook seeds np.random.seed(3) once and draws np.random.randn(n[l], n[l-1]) * 0.01"
    app = "the application notebook seeds np.random.seed(1) once and draws np.random.randn(n[l], n[l-1]) / np.sqrt(n[l-1])"
    seed1 = ("np.random.seed(3)", "np.random.seed(1)")
    unscaled = ("layer_dims[l - 1]) * 0.01", "layer_dims[l - 1])")
    sqrt = ("layer_dims[l - 1]) * 0.01", "layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])")
    cases = [((unscaled,), "init_scale", step, "-1.86349"),  # seed(3)'s randn[0, 3] as drawn, not * 0.01
             ((seed1, unscaled), "init_sqrt", app, "-2.30154"),  # seed(1)'s W1[1, 0] not / sqrt(5)
             ((sqrt,), "init_mixed_3", step, "-0.833379"),  # -1.86349 / sqrt(5)
             ((seed1,), "init_mixed_1", app, "-0.0230154")]
    for i, (plants, key, notebook, got) in enumerate(cases):
        report = course.check(learner(tmp_path, *plants, name=f"init{i}.py")["initialize_parameters_deep"])
        text = str(report)
        assert report.mistake_key == key, text
        assert f"parameters['W1'] (layer 1; {notebook} for l = 1 .. L): values differ" in text and f"got {got}" in text
    assert "after np.random.seed(1)" in MISTAKES["init_sqrt"] and "/ np.sqrt(layer_dims[l-1])" in MISTAKES["init_sqrt"]
    assert "after np.random.seed(3)" in MISTAKES["init_scale"] and "* 0.01" in MISTAKES["init_scale"]
    assert "found randn(...) with no scaling" in MISTAKES["init_scale"] and "found randn(...) with no scaling" in \
        MISTAKES["init_sqrt"]
    # seed(1) inside the loop is named as seed(3) inside it is
    looped = learner(tmp_path, ("    np.random.seed(3)\n", ""), sqrt,
                     ("parameters['W' + str(l)] = np.random", "np.random.seed(1)\n        parameters['W' + str(l)] = np.random"),
                     name="loop.py")
    assert course.check(looped["initialize_parameters_deep"]).mistake_key == "seed_loop"


def test_raising_wrong_type_and_too_slow_functions_are_reported_not_crashed_on():
    def L_model_backward(AL, Y, caches):
        raise RuntimeError("not written yet")

    report = course.check(L_model_backward)
    assert not report.ok
    assert "L_model_backward: FAILED on 4 of 4 cases" in str(report)
    assert "raised RuntimeError: not written yet at test_course_check.py line " in str(report)
    assert "`raise RuntimeError(\"not written yet\")`" in str(report)

    def linear_forward(A, W, b):
        Z = np.dot(W, A) + b  # noqa: F841 - forgot the return

    text = str(course.check(linear_forward))
    assert "return value: expected (Z, cache), got None" in text

    def compute_cost(AL, Y):
        return "0.69"

    assert "cost: expected a number, got a str" in str(course.check(compute_cost))

    def update_parameters(parameters, grads, learning_rate):
        while True:
            try:
                pass
            except Exception:  # even code that swallows every Exception is stopped
                pass

    report = course.check(update_parameters, time_limit=0.2)
    assert not report.ok
    assert "update_parameters: FAILED on 1 of 4 cases (3 more not run after the time-out)" in str(report)
    assert "took longer than the time limit of 0.2 s (stopped); an endless loop?" in str(report)

    def linear_backward(dZ, cache):
        raise SystemExit(3)

    assert "raised SystemExit: 3" in str(course.check(linear_backward))
    # check itself keeps NumPy's global random state as it was
    np.random.seed(7)
    state = np.random.get_state()[1].copy()
    course.check(lambda d: np.random.seed(3) or {}, "initialize_parameters_deep")
    assert np.array_equal(np.random.get_state()[1], state)


def test_the_time_limit_works_outside_the_main_thread_too():
    """Away from the main thread (no SIGALRM there) the call runs in a worker thread that check stops waiting for."""
    release = threading.Event()
    reports = {}

    def L_model_forward(X, parameters):
        release.wait()  # blocks until the test lets it go: no clock decides the outcome
        return None

    def run():
        reports["slow"] = course.check(L_model_forward, time_limit=0.05)
        reports["good"] = course.check(course.L_model_forward)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    release.set()
    assert "took longer than the time limit of 0.05 s (stopped)" in str(reports["slow"])
    assert reports["good"].ok, str(reports["good"])


def test_a_file_imports_its_own_helpers(tmp_path):
    (tmp_path / "dnn_utils.py").write_text("import numpy as np\n\ndef dot(W, A):\n    return np.dot(W, A)\n")
    path = tmp_path / "assignment.py"
    path.write_text("from dnn_utils import dot\n\ndef linear_forward(A, W, b):\n    return dot(W, A) + b, (A, W, b)\n")
    (report,) = check_file(path)
    assert report.ok, str(report)
    # a notebook exported by `jupyter nbconvert --to script` keeps its magics as get_ipython() calls
    exported = tmp_path / "exported.py"
    exported.write_text("get_ipython().run_line_magic('matplotlib', 'inline')\n"
                        "get_ipython().run_line_magic('load_ext', 'autoreload')\n" + LEARNER)
    assert [r.ok for r in check_file(exported)] == [True] * 9


def test_check_refuses_what_it_cannot_check():
    with pytest.raises(ConfigError, match=r"^check knows the course functions initialize_parameters_deep, .* got 'helper' "
                                          r"\(pass name='L_model_backward' etc\."):
        course.check(lambda: None, "helper")
    with pytest.raises(ConfigError, match=r"^check needs the function itself \(e\.g\. check\(L_model_backward\)\), got a str$"):
        course.check("L_model_backward")
    with pytest.raises(ConfigError, match=r"^time_limit must be a positive number of seconds, at most 86400 \(a day\), got 0$"):
        course.check(course.linear_forward, time_limit=0)
    # deeplayers' own functions pass, under another name too
    assert course.check(course.L_model_backward).ok
    assert course.check(course.linear_forward, "linear_forward").ok


def test_deeplayers_check_command(tmp_path, capsys):
    good = tmp_path / "good.py"
    good.write_text(LEARNER + "\nprint('the notebook prints while imported')\n")
    assert main(["check", str(good)]) == 0
    out = capsys.readouterr().out
    assert out.count(": OK, every output equals deeplayers'") == 9
    assert out.rstrip().endswith("9 of 9 functions match deeplayers'")
    assert "the notebook prints" not in out

    bad = tmp_path / "bad.py"
    bad.write_text(LEARNER.replace("dA_prev = np.dot(W.T, dZ)", "dA_prev = np.dot(W, dZ)"))
    assert main(["check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "linear_backward: FAILED on " in out and MISTAKES["W_T"] in out
    assert out.rstrip().endswith("6 of 9 functions match deeplayers'")

    broken = tmp_path / "broken.py"
    broken.write_text("import numpy as np\n\ndef linear_forward(A, W, b)\n    return 1\n")
    assert main(["check", str(broken)]) == 1
    assert "could not be run: SyntaxError" in capsys.readouterr().out

    assert main(["check", str(tmp_path / "missing.py")]) == 2
    assert capsys.readouterr().err.strip() == f"error: no file {tmp_path / 'missing.py'}"
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["check", str(empty)]) == 2
    assert "error: " + str(empty) + " defines none of the course's functions (initialize_parameters_deep, " in \
        capsys.readouterr().err
    assert main(["check", str(good), "--time-limit", "0"]) == 2
    assert "--time-limit" in capsys.readouterr().err


def test_check_file_returns_one_report_per_function(tmp_path):
    path = tmp_path / "partial.py"
    path.write_text(textwrap.dedent('''
        import numpy as np

        def linear_forward(A, W, b):
            return np.dot(W, A) + b, (A, W, b)

        def helper():
            return 1
    '''))
    (report,) = check_file(path)
    assert report.ok and report.name == "linear_forward"


def test_check_command_help_says_what_it_runs_and_the_exit_status():
    from click.testing import CliRunner

    from deeplayers.cli import cli

    result = CliRunner().invoke(cli, ["check", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Usage: cli check [OPTIONS] FILE" in text and "--time-limit FLOAT" in text
    for name in COURSE_FUNCTIONS:
        assert name in text
    assert "Exit status 0 when all pass, 1 when one fails" in text
    assert "check" in CliRunner().invoke(cli, ["--help"]).output


def test_os_exit_in_the_learners_code_is_a_failure_not_a_silent_pass(tmp_path):
    """os._exit(0) inside a checked function (or at import) ended `deeplayers check` at once, status 0
    and no output: a CI job read it as passed. (In a subprocess: a regression must not end pytest.)"""
    import os
    import subprocess
    import sys

    inside = tmp_path / "inside.py"
    inside.write_text("import os\ndef linear_forward(A, W, b):\n    os._exit(0)\n")
    at_import = tmp_path / "at_import.py"
    at_import.write_text("import os\nos._exit(0)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    run = [subprocess.run([sys.executable, "-m", "deeplayers", "check", str(f)], capture_output=True, text=True,
                          env=env, timeout=120) for f in (inside, at_import)]
    assert run[0].returncode == 1 and "linear_forward: FAILED on 4 of 4 cases" in run[0].stdout, run[0]
    assert "os._exit(0) was called; a checked function must return its result" in run[0].stdout
    assert run[1].returncode == 1 and "could not be run: _ProcessExit: os._exit(0) was called" in run[1].stdout, run[1]
    assert type(course.update_parameters(*_small_update())) is dict  # the course's plain dict


def _small_update():
    rng = np.random.RandomState(0)
    params = {"W1": rng.randn(2, 3), "b1": np.zeros((2, 1))}
    return params, {"dW1": np.ones((2, 3)), "db1": np.ones((2, 1))}, 0.1


@pytest.mark.parametrize("limit", [float("inf"), 1e300, float("nan"), True, 0])
def test_a_time_limit_the_timer_cannot_hold_is_refused_not_blamed_on_the_learner(limit):
    """time_limit=inf reached setitimer, whose OverflowError was reported as the learner's function
    raising it: a correct linear_forward FAILED."""
    def linear_forward(A, W, b):
        return W @ A + b, (A, W, b)

    with pytest.raises(ConfigError, match=r"time_limit must be a positive number of seconds, at most 86400 \(a day\)"):
        course.check(linear_forward, time_limit=limit)
    assert course.check(linear_forward, time_limit=86400).ok


# -- learners' own styles and mistakes (a demanding review): correct code passes, each mistake is named right --
def test_a_learner_computing_in_float32_passes_and_a_difference_names_an_entry_that_differs(tmp_path):
    """A correct learner who casts to float32 FAILED (float32 rounding is ~1e-7 of the terms, so an
    entry near 0 is off by more than 1e-6 of itself), and the report named the entry with the largest
    |difference|, which was within the tolerance: 'expected 5.31105, got 5.31105'."""
    def linear_backward(dZ, cache):
        A_prev, W, b = (np.asarray(x, dtype=np.float32) for x in cache)
        dZ = dZ.astype(np.float32)
        m = A_prev.shape[1]
        return W.T @ dZ, dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m

    assert course.check(linear_backward).ok, str(course.check(linear_backward))
    fns = learner(tmp_path, ("Z = np.dot(W, A) + b", "Z = (np.dot(W.astype(np.float32), A.astype(np.float32)) + b)"))
    for name in ("linear_forward", "linear_activation_forward", "L_model_forward"):
        assert course.check(fns[name]).ok, str(course.check(fns[name]))

    def linear_forward(A, W, b):  # the largest |difference| within the tolerance, a smaller one outside it
        Z = W @ A + b
        scale = max(1.0, np.abs(Z).max())
        i = np.unravel_index(np.argmin(np.abs(Z)), Z.shape)
        j = np.unravel_index(np.argmax(np.abs(Z)), Z.shape)
        linear_forward.seen.append((i, Z[i], i != j))
        if i == j:  # one entry (m = n[l] = 1): left right
            return Z, (A, W, b)
        Z[j] += 1.05e-5 * scale  # within 1e-5 of the scale + 1e-6 of itself
        Z[i] += 1.02e-5 * scale  # outside 1e-5 of the scale + 1e-6 of itself
        return Z, (A, W, b)

    linear_forward.seen = []
    text = str(course.check(linear_forward))
    (i, small, apart) = next(s for s in linear_forward.seen if s[2])
    assert f"Z: values differ: at [{i[0]}, {i[1]}] expected {small:.6g}, got " in text, text


def test_wrong_diagnoses_found_by_a_review_are_named_right(tmp_path):
    """Each of these was named as ANOTHER mistake: b.T broadcast as '`*` used for np.dot', Z in the linear
    cache as 'A[l] used where A[l-1] belongs', the last layer left out of the update as 'b[l] not
    updated', / np.sqrt(n[l]) as 'W[l] not scaled', relu at the output as 'relu and sigmoid swapped'."""
    cases = [
        ("linear_forward", "Z = np.dot(W, A) + b", "Z = np.dot(A.T, W.T).T + b.T", None),
        ("linear_forward", "cache = (A, W, b)", "cache = (Z, W, b)", "Z_linear_cache"),
        ("linear_activation_forward", "cache = (linear_cache, activation_cache)",
         "cache = ((np.dot(W, A_prev) + b, W, b), activation_cache)", "Z_linear_cache"),
        ("update_parameters", "for l in range(L):", "for l in range(L - 1):", "layer_skipped"),
        ("initialize_parameters_deep", "np.random.seed(3)", "np.random.seed(1)", None),
        ("L_model_forward", 'parameters[\'b\' + str(L)], "sigmoid")', 'parameters[\'b\' + str(L)], "relu")', "out_relu"),
        ("L_model_forward", "parameters['b' + str(l)], \"relu\")", "parameters['b' + str(l)], \"sigmoid\")", "hidden_sigmoid"),
        ("L_model_forward", "A, cache = linear_activation_forward(A_prev,", "A, cache = linear_activation_forward(X,",
         "X_every"),
    ]
    plants = {1: [("layer_dims[l - 1]) * 0.01", "layer_dims[l - 1]) / np.sqrt(layer_dims[l])")]}
    for i, (name, right, wrong, key) in enumerate(cases):
        report = course.check(learner(tmp_path, (right, wrong), *plants.get(i - 3, []), name=f"w{i}.py")[name])
        text = str(report)
        assert not report.ok, (name, wrong)
        if i == 0:  # a b.T broadcast is no `*`: nothing named rather than the wrong thing
            assert "operands could not be broadcast" in text and report.mistake_key is None, text
        elif i == 4:
            assert report.mistake_key == "init_sqrt_n", text
            assert "divided by np.sqrt(layer_dims[l])" in text and "np.sqrt(layer_dims[l-1])" in text
        else:
            assert report.mistake_key == key, (wrong, text)
    # W * A itself still is `*`, from NumPy's broadcast message
    fns = learner(tmp_path, ("Z = np.dot(W, A) + b", "Z = W * A + b"), name="star.py")
    assert course.check(fns["L_model_forward"]).mistake_key == "star"
    # X in every layer raises np.dot's shapes in [5, 4, 2, 1]: named from them too
    fns = learner(tmp_path, ("A, cache = linear_activation_forward(A_prev,", "A, cache = linear_activation_forward(X,"),
                  name="x.py")
    report = course.check(fns["L_model_forward"])
    assert "layer_dims = [5, 4, 2, 1], m = 6\n  raised ValueError: shapes (2,4) and (5,6) not aligned" in str(report)
    assert "X fed to every layer" in str(report)


def test_a_function_that_overwrites_its_inputs_fails_naming_the_array(tmp_path):
    """update_parameters with `-=` on a shallow copy changed the caller's W[l] (the course's tests call
    it twice with the same dict) and relu_backward's `dZ = dA` the caller's dA: both passed. Rebinding a
    dict entry (the older notebook's parameters['W1'] = parameters['W1'] - ...) changes no array and passes."""
    fns = learner(tmp_path, ('parameters["W" + str(l + 1)] = parameters["W" + str(l + 1)] - learning_rate',
                             'parameters["W" + str(l + 1)] -= learning_rate'))
    report = course.check(fns["update_parameters"])
    assert not report.ok and report.mistake_key == "mutated", str(report)
    assert "parameters['W1']: changed in place by the call" in str(report) and "copy.deepcopy(params)" in str(report)
    fns = learner(tmp_path, ("dZ = np.array(dA, copy=True)", "dZ = dA"), name="relu.py")
    report = course.check(fns["linear_activation_backward"])
    assert not report.ok and report.mistake_key == "inplace", str(report)
    assert "dA: changed in place by the call" in str(report)
    old = learner(tmp_path, ("parameters = params.copy()", "parameters = params"), name="old.py")
    assert course.check(old["update_parameters"]).ok

    # the older notebook's update_parameters(parameters, ...) updates the caller's parameters by design:
    # `-=` there is right (it failed as 'mutated'); the newer (params, ...) must leave params alone
    def update_parameters(parameters, grads, learning_rate):
        for l in range(len(parameters) // 2):
            parameters["W" + str(l + 1)] -= learning_rate * grads["dW" + str(l + 1)]
            parameters["b" + str(l + 1)] -= learning_rate * grads["db" + str(l + 1)]
        return parameters

    assert course.check(update_parameters).ok, str(course.check(update_parameters))

    def newer(params, grads, learning_rate):
        return update_parameters(params, grads, learning_rate)

    report = course.check(newer, name="update_parameters")
    assert not report.ok and report.mistake_key == "mutated", str(report)


def test_a_syntax_error_or_exit_names_the_learners_line(tmp_path):
    """The line reported was importlib's ('at <frozen importlib._bootstrap> line 241') or exit()'s."""
    from click.testing import CliRunner

    from deeplayers.cli import cli

    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\ndef linear_forward(A, W, b)\n    return np.dot(W, A) + b, (A, W, b)\n")
    res = CliRunner().invoke(cli, ["check", str(bad)])
    assert res.exit_code == 1 and "could not be run: SyntaxError: expected ':'" in res.output, res.output
    assert "at bad.py line 2 `def linear_forward(A, W, b)`" in res.output and "frozen" not in res.output

    def linear_forward(A, W, b):
        exit()

    text = str(course.check(linear_forward))
    assert "raised SystemExit: None at test_course_check.py line" in text and "`exit()`" in text, text


def test_a_slow_import_says_what_is_running(tmp_path, monkeypatch):
    """A notebook exported as a script trains its model at the top level: the command sat silent
    for that long. After IMPORT_NOTICE_AFTER seconds it says on stderr that the file's own code runs;
    a quick import says nothing."""
    from click.testing import CliRunner

    from deeplayers import course_check
    from deeplayers.cli import cli

    monkeypatch.setattr(course_check, "IMPORT_NOTICE_AFTER", 0.2)
    code = "import numpy as np\ndef linear_forward(A, W, b):\n    return np.dot(W, A) + b, (A, W, b)\n"
    slow, quick = tmp_path / "slow.py", tmp_path / "quick.py"
    slow.write_text(code + "import time\ntime.sleep(1.5)\n")
    quick.write_text(code)
    res = CliRunner().invoke(cli, ["check", str(slow)])
    assert res.exit_code == 0, res.output
    assert "running " in res.stderr and "slow.py's top-level code first" in res.stderr, res.stderr
    assert "linear_forward: OK" in res.stdout and "top-level" not in res.stdout
    res = CliRunner().invoke(cli, ["check", str(quick)])
    assert res.exit_code == 0 and res.stderr == "", res.stderr
