"""User-style NumPy functions for the end-to-end corpus (tests/test_numpy_corpus.py).

Written the way people write losses, layers and statistics with plain NumPy; kept in a real
file because the compiler reads source.
"""

import numpy as np

# ------------------------------------------------------------------------------ losses


def mse(pred, target):
    return np.mean((pred - target) ** 2)


def mae(pred, target):
    return np.mean(np.abs(pred - target))


def huber(pred, target):
    delta = 1.0
    r = pred - target
    quadratic = 0.5 * r ** 2
    linear = delta * (np.abs(r) - 0.5 * delta)
    return np.sum(np.where(np.abs(r) <= delta, quadratic, linear))


def hinge(w, x, y):
    margins = 1.0 - y * (x @ w)
    return np.mean(np.maximum(margins, 0.0))


def logsumexp(z, axis=-1):
    m = np.max(z, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(z - m), axis=axis))


def cross_entropy(logits, labels):
    lse = logsumexp(logits)
    picked = logits[np.arange(logits.shape[0]), labels]
    return np.mean(lse - picked)


def softmax_cross_entropy_onehot(logits, onehot):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(onehot * log_probs) / logits.shape[0]


def kl_divergence(p_logits, q_logits):
    p = np.exp(p_logits - logsumexp(p_logits)[..., None])
    log_p = p_logits - logsumexp(p_logits)[..., None]
    log_q = q_logits - logsumexp(q_logits)[..., None]
    return np.sum(p * (log_p - log_q))


def bce_with_logits(logits, targets):
    # the numerically stable form: max(x, 0) - x * t + log(1 + exp(-|x|))
    loss = np.maximum(logits, 0.0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    return np.mean(loss)


def ridge_regression(w, x, y):
    residual = x @ w - y
    return residual @ residual / len(y) + 0.1 * np.sum(w * w)


def logistic_regression(w, b, x, y):
    z = x @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


# ----------------------------------------------------------------------- normalisations


def layer_norm(x, gamma, beta):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum((gamma * y + beta) ** 2 * np.arange(1.0, x.shape[-1] + 1))


def batch_norm(x, gamma, beta):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    out = gamma * xhat + beta
    return np.sum(np.tanh(out))


def zscore(x):
    z = (x - np.mean(x)) / np.std(x)
    return np.sum(z ** 3)


def l2_normalise(x):
    u = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return np.sum(u * np.linspace(0.5, 2.0, x.shape[-1]))


def softmax_entropy(z):
    e = np.exp(z - z.max())
    p = e / e.sum()
    return -np.sum(p * np.log(p))


# ---------------------------------------------------------------------------- attention


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def attention(q, k, v):
    scores = q @ k.T / np.sqrt(q.shape[-1])
    return np.sum(softmax(scores) @ v)


def multi_head_attention(x, wq, wk, wv):
    n, d = x.shape
    heads = 2
    dh = d // heads
    q = (x @ wq).reshape(n, heads, dh).transpose(1, 0, 2)
    k = (x @ wk).reshape(n, heads, dh).transpose(1, 0, 2)
    v = (x @ wv).reshape(n, heads, dh).transpose(1, 0, 2)
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(dh)
    out = softmax(scores) @ v
    merged = out.transpose(1, 0, 2).reshape(n, d)
    return np.sum(merged ** 2)


def einsum_attention(q, k):
    scores = np.einsum("id,jd->ij", q, k)
    return np.sum(softmax(scores, axis=1) * np.einsum("ij->ji", scores))


# ---------------------------------------------------------------------------- distances


def pairwise_sq_distances(x, y):
    d = np.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)
    return np.sum(np.exp(-d))


def pairwise_sq_distances_expanded(x, y):
    xx = np.sum(x * x, axis=1)[:, None]
    yy = np.sum(y * y, axis=1)[None, :]
    d = xx + yy - 2 * x @ y.T
    return np.sum(np.sqrt(d + 1.0))


def cosine_similarity(a, b):
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))


def mahalanobis_solve(x, mu, cov):
    d = x - mu
    return d @ np.linalg.solve(cov, d)


def mahalanobis_inv(x, mu, cov):
    d = x - mu
    return d @ np.linalg.inv(cov) @ d


# ------------------------------------------------------------------------ polynomial fits


def vandermonde(x, degree=3):
    return x[:, None] ** np.arange(degree + 1)


def least_squares_fit(x, y):
    v = vandermonde(x)
    coeffs = np.linalg.solve(v.T @ v, v.T @ y)
    return np.sum(coeffs ** 2)


def poly_fit_residual(x, y):
    v = np.stack([np.ones_like(x), x, x ** 2], axis=1)
    coeffs = np.linalg.solve(v.T @ v + 1e-3 * np.eye(3), v.T @ y)
    return np.sum((v @ coeffs - y) ** 2)


def polyval_horner(c, x):
    acc = np.zeros_like(x)
    for i in range(len(c)):
        acc = acc * x + c[i]
    return np.sum(acc ** 2)


# ---------------------------------------------------------------- likelihoods, matrices


def gaussian_loglik_slogdet(x, a):
    cov = a @ a.T + np.eye(a.shape[0])
    _, logdet = np.linalg.slogdet(cov)
    quad = x @ np.linalg.solve(cov, x)
    return -0.5 * (quad + logdet + len(x) * np.log(2 * np.pi))


def gaussian_loglik_cholesky(x, a):
    cov = a @ a.T + np.eye(a.shape[0])
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, x)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    return -0.5 * (z @ z + logdet)


def trace_of_inverse(a):
    return np.trace(np.linalg.inv(a))


def det_of_product(a, b):
    return np.linalg.det(a @ b)


def einsum_bilinear(x, w, y):
    return np.einsum("i,ij,j->", x, w, y)


def batched_bilinear(x, w):
    return np.sum(np.einsum("bi,ij,bj->b", x, w, x) ** 2)


def frobenius_outer(u, v):
    return np.linalg.norm(np.outer(u, v) - np.eye(len(u), len(v)))


def tensordot_contract(a, b):
    return np.sum(np.tensordot(a, b, axes=([1, 2], [0, 1])) ** 2)


# ------------------------------------------------------------------ scans, indexing


def cumulative_returns(r):
    wealth = np.cumsum(np.log1p(r))
    return np.sum(np.exp(wealth))


def cumprod_growth(r):
    return np.sum(np.cumprod(1.0 + r))


def gather_repeated(x):
    idx = np.array([0, 2, 2, 1, 0, 2])
    return np.sum(x[idx] ** 2 * np.arange(1.0, 7.0))


def embedding_lookup(table, tokens):
    vecs = table[tokens]
    return np.sum(np.mean(vecs, axis=0) ** 2)


def boolean_mask(x):
    return np.sum(x[x > 0.1] ** 2) + np.sum(x[x < 0.1])


def take_along(x):
    order = np.argsort(x, axis=1)
    return np.sum(np.take_along_axis(x, order, axis=1) * np.arange(x.shape[1]))


def index_assign(x):
    y = np.zeros(x.shape[0] + 2)
    y[1:-1] = x
    y[0] = x[-1] * 2.0
    y[-1] += x[0] ** 2
    return np.sum(np.diff(y) ** 2)


def mask_assign(x):
    y = x * 1.0
    y[y < 0.0] = 0.0
    y[0] = 3.0 * x[1]
    return np.sum(y ** 3)


def scatter_add(x):
    out = np.zeros(3)
    np.add.at(out, np.array([0, 1, 1, 2, 0]), x)
    return np.sum(out ** 2)


def where_clip(x):
    y = np.where(x > 0.0, x ** 2, -x)
    return np.sum(np.clip(y, 0.1, 1.5) * x)


def pad_concat_stack(x):
    p = np.pad(x, (1, 2))
    c = np.concatenate([x, x[::-1] * 2.0])
    s = np.stack([x, x ** 2])
    return np.sum(p ** 2) + np.sum(c * c[::-1]) + np.sum(s[1] * s[0])


def array_of_scalars(x):
    rot = np.array([[np.cos(x[0]), -np.sin(x[0])], [np.sin(x[0]), np.cos(x[0])]])
    v = np.array([x[1], x[2] * 2.0])
    return np.sum((rot @ v) ** 2) + np.sum(np.array([x[1], x[2]]) * v)


def conv1d_valid(x, k):
    n = len(x) - len(k) + 1
    out = np.stack([np.sum(x[i:i + len(k)] * k) for i in range(n)])
    return np.sum(out ** 2)


def mlp(params, x):
    w1, b1, w2, b2 = params
    h = np.tanh(x @ w1 + b1)
    return np.sum((h @ w2 + b2) ** 2)


def astype_mixed(x):
    y = x.astype(np.float64) * 2.0
    return np.sum(y ** 2)


def logsumexp_axes(z):
    m = np.max(z, axis=(0, 2), keepdims=True)
    return np.sum(np.log(np.sum(np.exp(z - m), axis=(0, 2))) + np.squeeze(m))


def gram_logdet(x):
    g = x.T @ x + np.eye(x.shape[1])
    sign, logdet = np.linalg.slogdet(g)
    return sign * logdet


def least_squares_inline(x, y):
    v = x[:, None] ** np.arange(4)
    coeffs = np.linalg.solve(v.T @ v, v.T @ y)
    return np.sum((v @ coeffs - y) ** 2) + np.sum(coeffs ** 2)


def copyto_owned(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y ** 2)


def ufunc_out(x):
    y = x * 1.0
    np.multiply(y, 2.0, out=y)
    return np.sum(y ** 2)


def assign_repeated_indices(x):
    # NumPy: with a repeated index the last write wins, so x[1] has no effect
    y = np.zeros(3)
    y[np.array([0, 1, 1])] = x
    return np.sum(y ** 2)
