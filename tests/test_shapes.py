"""Each kind of shape error names the layer, the array, the expected shape in the notation and the
shape received."""

from __future__ import annotations

import re

import numpy as np
import pytest

import deeplayers as dl
from deeplayers import course


@pytest.fixture
def net():
    return dl.Network([12288, 20, 7, 5, 1], seed=1, init="course")


def test_W_transposed(net):
    params = dict(net.parameters)
    params["W2"] = params["W2"].T
    with pytest.raises(dl.ShapeError, match=re.escape("W[2] must be (n[2], n[1]) = (7, 20), got (20, 7)")):
        net.parameters = params


def test_W_wrong_in_course_parameters():
    p = course.initialize_parameters_deep([6, 4, 3, 1])
    p["W2"] = np.zeros((3, 5))
    with pytest.raises(dl.ShapeError, match=re.escape("W[2] must be (n[2], n[1]) = (3, 4), got (3, 5)")):
        course.L_model_forward(np.zeros((6, 2)), p)


def test_X_rows_instead_of_columns(net):
    msg = "X must be (n[0], m) = (12288, m), got (209, 12288): samples go in columns — did you mean X.T?"
    with pytest.raises(dl.ShapeError, match=re.escape(msg)):
        net.forward(np.zeros((209, 12288)))


def test_X_single_sample_and_images():
    small = dl.Network([3, 2, 1], seed=0)
    with pytest.raises(dl.ShapeError, match=re.escape("got (3,): a single sample must be a column")):
        small.predict(np.zeros(3))
    with pytest.raises(dl.ShapeError, match=re.escape("got (4, 1, 3): flatten images into columns")):
        small.predict(np.zeros((4, 1, 3)))
    with pytest.raises(dl.ShapeError, match=re.escape("X must be (n[0], m) = (3, m), got (5, 2)")):
        small.predict(np.zeros((5, 2)))


def test_b_not_a_column(net):
    params = dict(net.parameters)
    params["b1"] = np.zeros(20)
    with pytest.raises(dl.ShapeError, match=re.escape("b[1] must be (n[1], 1) = (20, 1), got (20,)")):
        net.parameters = params
    with pytest.raises(dl.ShapeError, match=re.escape("b[l] must be (n[l], 1) = (4, 1), got (1, 4)")):
        course.linear_forward(np.zeros((3, 2)), np.zeros((4, 3)), np.zeros((1, 4)))


def test_Y_shapes():
    small = dl.Network([3, 2, 1], seed=0)
    X = np.zeros((3, 5))
    with pytest.raises(dl.ShapeError, match=re.escape("Y must be (n[L], m) = (1, 5), got (5,): labels must be a row")):
        small.fit(X, np.zeros(5), num_iterations=1)
    multi = dl.Network([3, 2, 4], output="softmax", seed=0)
    with pytest.raises(dl.ShapeError, match=re.escape("Y must be (n[L], m) = (4, 5), got (5, 4): samples go in columns")):
        multi.fit(X, np.zeros((5, 4)), num_iterations=1)
    with pytest.raises(dl.ShapeError, match=re.escape("must be one-hot")):
        multi.fit(X, np.zeros(5), num_iterations=1)


def test_A_prev_and_gradients():
    with pytest.raises(dl.ShapeError, match=re.escape("A[l-1] must be (n[l-1], m) = (3, m), got (2, 5)")):
        course.linear_forward(np.zeros((2, 5)), np.zeros((4, 3)), np.zeros((4, 1)))
    layer = dl.Dense(3, 4, "relu", l=2)
    with pytest.raises(dl.ShapeError, match=re.escape("A[1] must be (n[1], m) = (3, m), got (4, 5)")):
        layer.forward(np.zeros((4, 5)))
    layer.forward(np.zeros((3, 5)))
    with pytest.raises(dl.ShapeError, match=re.escape("dA[2] must be (n[2], m) = (4, 5), got (5, 4)")):
        layer.backward(np.zeros((5, 4)))
    with pytest.raises(dl.ShapeError, match=re.escape("dZ[l] must be (n[l], m) = (4, 2), got (4, 3)")):
        course.linear_backward(np.zeros((4, 3)), (np.zeros((3, 2)), np.zeros((4, 3)), np.zeros((4, 1))))


def test_layer_dims_and_types():
    with pytest.raises(dl.ShapeError, match="at least two sizes"):
        dl.Network([5])
    with pytest.raises(dl.ShapeError, match=re.escape("n[1] must be a positive integer, got 0")):
        dl.Network([5, 0, 1])
    with pytest.raises(dl.ShapeError, match=re.escape("n[1] must be a positive integer, got 2.5")):
        dl.Network([5, 2.5, 1])
    assert issubclass(dl.ShapeError, ValueError)
    with pytest.raises(dl.DataError, match="must hold numbers"):
        dl.Network([2, 1]).predict(np.array([["a"], ["b"]]))
