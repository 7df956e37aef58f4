"""Per-mini-batch budget: the CPU cost of each NumPy call one SGD step needs, timed alone.

Usage: ``OPENBLAS_NUM_THREADS=1 python benchmarks/opcost.py mnist`` (or ``tiny``). Each call (the
mini-batch gather, the matrix products, bias adds, activations, softmax/sigmoid, cost, output
gradient, masks, db reductions, the SGD update) runs in a tight loop on buffers of the benchmark's
shapes (thread CPU time, best of 7); the sum by category is what a trainer cannot go below with
these calls, and the rest of a measured epoch is Python overhead. A measuring tool with made-up
values, not a trainer.
"""
import sys
import time

import numpy as np

cfg = sys.argv[1] if len(sys.argv) > 1 else "mnist"
if cfg == "mnist":
    dims, B, m, out = [784, 256, 128, 10], 128, 60000, "softmax"
else:
    dims, B, m, out = [2, 16, 16, 1], 64, 10000, "sigmoid"
dt = np.float32
rng = np.random.default_rng(0)
Xr = rng.random((m, dims[0]), dtype=dt)
Yr = np.zeros((m, dims[-1]), dt)
W = [rng.standard_normal((dims[l], dims[l-1])).astype(dt) * 0.05 for l in range(1, len(dims))]
b = [np.zeros((dims[l], 1), dt) for l in range(1, len(dims))]
L = len(W)
idx = rng.permutation(m)[:B]
xb = np.empty((B, dims[0]), dt)
yb = np.empty((B, dims[-1]), dt)
A0, Yb = xb.T, yb.T
Z = [np.empty((dims[l], B), dt) for l in range(1, L+1)]
dA = [np.empty((dims[l], B), dt) for l in range(1, L)]
dW = [np.empty_like(w) for w in W]
db = [np.empty_like(x) for x in b]
mask = [np.empty((dims[l], B), bool) for l in range(1, L)]
s1, s2 = np.empty_like(Z[-1]), np.empty_like(Z[-1])
col = np.empty((1, B), dt)
ones = np.ones((B, 1), dt)


def t(f, n=None):
    n = n or (200 if cfg == "mnist" else 5000)
    best = 1e9
    for _r in range(7):
        c = time.thread_time()
        for _i in range(n):
            f()
        best = min(best, (time.thread_time() - c) / n)
    return best * 1e6


ops = []


def op(cat, name, f):
    ops.append((cat, name, t(f)))


np.seterr(all="ignore")  # the softmax ops repeat in place on made-up values
op("gather", "take X batch (mode=raise)", lambda: np.take(Xr, idx, axis=0, out=xb))
op("gather", "take Y batch (mode=raise)", lambda: np.take(Yr, idx, axis=0, out=yb))
for l in range(L):
    Ap = A0 if l == 0 else Z[l-1]
    op("GEMM", f"Z{l+1} = W{l+1} A{l} {W[l].shape}x{Ap.shape}", lambda l=l, Ap=Ap: np.dot(W[l], Ap, out=Z[l]))
    op("elementwise", f"Z{l+1} += b{l+1}", lambda l=l: Z[l].__iadd__(b[l]))
    if l < L-1:
        op("elementwise", f"relu A{l+1}", lambda l=l: np.maximum(Z[l], 0, out=Z[l]))
if out == "softmax":
    op("elementwise", "softmax: max", lambda: np.max(Z[-1], axis=0, keepdims=True, out=col))
    op("elementwise", "softmax: subtract", lambda: np.subtract(Z[-1], col, out=Z[-1]))
    op("elementwise", "softmax: exp", lambda: np.exp(Z[-1], out=Z[-1]))
    op("elementwise", "softmax: sum", lambda: np.add.reduce(Z[-1], axis=0, keepdims=True, out=col))
    op("elementwise", "softmax: divide", lambda: np.divide(Z[-1], col, out=Z[-1]))
    op("cost", "cost: clip(max,min)", lambda: np.minimum(np.maximum(Z[-1], 1e-30, out=s1), 0.9999, out=s1))
    op("cost", "cost: log", lambda: np.log(s1, out=s1))
    op("cost", "cost: vdot", lambda: float(np.vdot(Yb, s1)))
else:
    def sigmoid():
        with np.errstate(over="ignore"):
            np.negative(Z[-1], out=Z[-1])
            np.exp(Z[-1], out=Z[-1])
        Z[-1] += 1
        np.reciprocal(Z[-1], out=Z[-1])

    def bce():
        np.minimum(np.maximum(Z[-1], 1e-30, out=s1), 0.9999, out=s1)
        np.negative(s1, out=s2)
        np.log1p(s2, out=s2)
        np.log(s1, out=s1)
        return float(np.vdot(Yb, s1) + np.add.reduce(s2, axis=None) - np.vdot(Yb, s2))

    op("elementwise", "sigmoid (errstate, neg, exp, +1, recip)", sigmoid)
    op("cost", "BCE cost (clip x2, neg, log1p, log, 3 vdot, reduce)", bce)
op("elementwise", "dZL = AL - Y", lambda: np.subtract(Z[-1], Yb, out=Z[-1]))
op("elementwise", "dZL *= lr/m", lambda: Z[-1].__imul__(0.001))
for l in reversed(range(L)):
    Ap = A0 if l == 0 else Z[l-1]
    dZ = Z[l] if l == L-1 else dA[l]
    if l < L-1:
        op("elementwise", f"relu' mask Z{l+1}>0", lambda l=l: np.greater(Z[l], 0, out=mask[l]))
        op("elementwise", f"dZ{l+1} = dA{l+1} * mask", lambda l=l: np.multiply(dA[l], mask[l], out=dA[l]))
    if l > 0:
        op("GEMM", f"dA{l} = W{l+1}^T dZ{l+1}", lambda l=l, dZ=dZ: np.dot(W[l].T, dZ, out=dA[l-1]))
    op("GEMM", f"dW{l+1} = dZ{l+1} A{l}^T", lambda l=l, dZ=dZ, Ap=Ap: np.dot(dZ, Ap.T, out=dW[l]))
    op("elementwise", f"db{l+1} = add.reduce(dZ{l+1}, axis=1)",
       lambda l=l, dZ=dZ: np.add.reduce(dZ, axis=1, keepdims=True, out=db[l]))
    op("update", f"W{l+1} -= dW{l+1} {W[l].shape}", lambda l=l: W[l].__isub__(dW[l]))
    op("update", f"b{l+1} -= db{l+1}", lambda l=l: b[l].__isub__(db[l]))
tot = {}
for cat, name, us in ops:
    tot[cat] = tot.get(cat, 0) + us
    print(f"{us:9.2f} us  {cat:12s} {name}")
print("sum by category:", {k: round(v, 1) for k, v in tot.items()}, "total", round(sum(tot.values()), 1), "us per batch")
# alternatives
print("alt: take mode=clip X  {:.2f} us".format(t(lambda: Xr.take(idx, axis=0, out=xb, mode="clip"))))
print(f"alt: db via dot(dZ, ones) last layer-1: {t(lambda: np.dot(dA[0], ones, out=db[0])):.2f} us")
