"""Logistic regression on soft targets, one row per text instead of one per class.

The end models learn from the label model's probabilities: a row the label model calls
60/40 should teach 60/40. scikit-learn's ``LogisticRegression`` takes class indices only,
so that used to mean one weighted copy of each row per class (26k rows for WRENCH trec's
4.8k covered rows and 6 classes), and the classifier fits were most of a cold
``labeling run``. The loss of those copies is exactly the cross-entropy against the soft
target, ``sum_i s_i * (logsumexp(z_i) - q_i . z_i)`` with ``s_i`` the row's total weight
and ``q_i`` its class distribution, so :class:`SoftLogisticRegression` minimises that
directly on the original rows: the same optimum, k times fewer rows.

``fit(X, T)`` with a 2-D ``T`` (``n x k``: row ``i``'s weight on class ``c``, classes
``0..k-1``) fits on soft targets; a 1-D ``y`` (class labels, with ``sample_weight``) is
scikit-learn's own fit, unchanged. Everything after fitting (``predict_proba``, export,
the decision bias on ``intercept_``) is ``LogisticRegression``'s: ``classes_`` are the
classes with positive total weight, two of them give the binary (sigmoid) model.
The objective is scikit-learn's (L2 on the coefficients, the intercept unpenalised,
scaled by the total weight), minimised with L-BFGS for ``solver = "lbfgs"`` and Newton-CG
(:func:`newton_cg`) for ``solver = "newton-cg"`` (which suits sparse TF-IDF features
with weak regularisation, as in scikit-learn), both stopping on ``tol`` as scikit-learn
does (the gradient's largest entry).

>>> import numpy as np
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
>>> T = np.array([[0.9, 0.1], [0.7, 0.3], [0.3, 0.7], [0.1, 0.9]])
>>> model = SoftLogisticRegression(C=100.0).fit(X, T)
>>> model.classes_.tolist(), model.predict([[0.0], [3.0]]).tolist()
([0, 1], [0, 1])
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit, log_expit, logsumexp
from sklearn.linear_model import LogisticRegression

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6
    def validate_data(estimator, X, **kwargs):
        return estimator._validate_data(X, **kwargs)


class SoftLogisticRegression(LogisticRegression):
    """``LogisticRegression`` whose ``fit`` also takes soft targets (module docstring)."""

    def fit(self, X, y, sample_weight=None):
        vars(self).pop("decision_bias_", None)  # folded into the last fit's intercept only
        y_array = np.asarray(y)
        if y_array.ndim != 2 or y_array.shape[1] == 1:  # labels (a column vector too)
            return super().fit(X, y, sample_weight=sample_weight)
        if sample_weight is not None:
            raise ValueError("soft targets carry their weights: pass sample_weight=None")
        if self.solver not in ("lbfgs", "newton-cg"):
            raise ValueError(f"soft targets need solver lbfgs or newton-cg, not {self.solver!r}")
        # scikit-learn's checks (2-D, finite) and its n_features_in_/feature_names_in_
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64)
        targets = np.asarray(y_array, dtype=float)
        if targets.shape[0] != X.shape[0] or (targets < 0).any():
            raise ValueError("soft targets must be one non-negative row per sample")
        weights = targets.sum(axis=1)
        keep = weights > 0
        X, targets, weights = X[keep], targets[keep], weights[keep]
        present = np.flatnonzero(targets.sum(axis=0) > 0)
        if len(present) < 2:
            raise ValueError("soft targets put all weight on one class")
        targets = targets[:, present] / weights[:, None]
        scale = weights / weights.sum()  # scikit-learn's scaling: the optimum is the same
        l2 = 1.0 / (self.C * weights.sum())
        objective = (_BinaryObjective if len(present) == 2 else _SoftmaxObjective)(
            X, targets, scale, l2, self.fit_intercept)
        x0 = np.zeros(objective.size)
        previous = getattr(self, "coef_", None)
        if (self.warm_start and previous is not None and previous.shape[1] == X.shape[1]
                and np.array_equal(self.classes_, present)):
            x0 = objective.pack(self.coef_, self.intercept_)  # the last fit's solution
        if self.solver == "lbfgs":
            result = optimize.minimize(objective.loss_grad, x0, jac=True, method="L-BFGS-B",
                                       options={"maxiter": self.max_iter, "gtol": self.tol,
                                                "ftol": 64 * np.finfo(float).eps})
            params, n_iter = result.x, result.nit
        else:
            params, n_iter = newton_cg(objective.loss_grad, objective.hessp, x0, self.tol,
                                       self.max_iter)
        self.classes_ = present
        self.coef_, self.intercept_ = objective.unpack(params)
        self.n_iter_ = np.array([n_iter])
        return self


def newton_cg(loss_grad, hessp, x0, tol: float, max_iter: int):
    """``(minimiser, iterations)`` of a smooth convex objective by Newton steps solved
    with conjugate gradients and a backtracking line search; stops when
    ``max |gradient| <= tol``, scikit-learn's ``newton-cg`` rule (scipy's ``trust-ncg``
    stops on the gradient's 2-norm, hundreds of times stricter on 300k parameters)."""
    x = x0.copy()
    loss, grad = loss_grad(x)
    for iteration in range(1, max_iter + 1):
        if np.max(np.abs(grad)) <= tol:
            return x, iteration - 1
        step = _conjugate_gradient(lambda v: hessp(x, v), grad)
        slope, alpha = grad @ step, 1.0
        while True:  # Armijo: the Newton step (alpha 1) is almost always accepted
            new_loss, new_grad = loss_grad(x + alpha * step)
            if new_loss <= loss + 1e-4 * alpha * slope or alpha < 1e-10:
                break
            alpha /= 2
        x, loss, grad = x + alpha * step, new_loss, new_grad
    return x, max_iter


def _conjugate_gradient(hessp, grad, max_inner: int = 200):
    """An approximate solution of ``H p = -grad``, to scikit-learn's inexact tolerance
    (residual's 1-norm <= min(0.5, sqrt(|grad|_1)) * |grad|_1)."""
    grad_norm = np.abs(grad).sum()
    tolerance = min(0.5, np.sqrt(grad_norm)) * grad_norm
    step, residual = np.zeros_like(grad), -grad
    direction, rr = residual.copy(), residual @ residual
    for _ in range(max_inner):
        if np.abs(residual).sum() <= tolerance:
            break
        h_direction = hessp(direction)
        curvature = direction @ h_direction
        if curvature <= 0:  # numerically flat: keep what we have (or the gradient step)
            return step if step.any() else -grad
        alpha = rr / curvature
        step += alpha * direction
        residual -= alpha * h_direction
        rr, rr_old = residual @ residual, rr
        direction = residual + (rr / rr_old) * direction
    return step


def plain_logistic_regression(model: LogisticRegression) -> LogisticRegression:
    """``model`` as a plain ``LogisticRegression`` (same parameters and fitted
    attributes), for converters that look its exact type up (skl2onnx)."""
    if type(model) is LogisticRegression:
        return model
    plain = LogisticRegression(**model.get_params())
    plain.__dict__.update({key: value for key, value in vars(model).items()
                           if key.endswith("_") and not key.startswith("_")})
    return plain


class _Objective:
    _proba = _at = None  # probabilities at the last loss_grad's params
    fit_intercept = True

    def pack(self, coef, intercept):
        parts = [np.ravel(coef)] + ([np.ravel(intercept)] if self.fit_intercept else [])
        return np.concatenate(parts)

    def _probabilities(self, params):
        if not np.array_equal(params, self._at):  # a rejected line-search step moved on
            self.loss_grad(params)
        return self._proba


class _SoftmaxObjective(_Objective):
    """Multinomial cross-entropy against soft targets; parameters ``[W (k x d), b (k)]``."""

    def __init__(self, X, targets, scale, l2, fit_intercept):
        self.X, self.targets, self.scale, self.l2 = X, targets, scale, l2
        self.k, self.d = targets.shape[1], X.shape[1]
        self.fit_intercept = fit_intercept
        self.size = self.k * self.d + (self.k if fit_intercept else 0)

    def unpack(self, params):
        coef = params[:self.k * self.d].reshape(self.k, self.d)
        intercept = params[self.k * self.d:] if self.fit_intercept else np.zeros(self.k)
        return coef, intercept


    def loss_grad(self, params):
        coef, intercept = self.unpack(params)
        logits = self.X @ coef.T + intercept
        log_norm = logsumexp(logits, axis=1)
        loss = self.scale @ (log_norm - (self.targets * logits).sum(axis=1))
        loss += 0.5 * self.l2 * np.sum(coef ** 2)
        self._proba, self._at = np.exp(logits - log_norm[:, None]), params.copy()
        residual = self.scale[:, None] * (self._proba - self.targets)
        grad_coef = np.asarray(self.X.T @ residual).T + self.l2 * coef
        return loss, self.pack(grad_coef, residual.sum(axis=0))

    def hessp(self, params, vector):
        # The Hessian of softmax cross-entropy does not involve the targets:
        # per row, diag(p) - p p^T, applied to the direction's logits.
        proba = self._probabilities(params)
        v_coef, v_intercept = self.unpack(vector)
        direction = self.X @ v_coef.T + v_intercept
        curvature = proba * direction
        curvature -= proba * curvature.sum(axis=1, keepdims=True)
        curvature *= self.scale[:, None]
        h_coef = np.asarray(self.X.T @ curvature).T + self.l2 * v_coef
        return self.pack(h_coef, curvature.sum(axis=0))


class _BinaryObjective(_Objective):
    """Logistic loss against the soft target of the second class; ``[w (d), b]``."""

    def __init__(self, X, targets, scale, l2, fit_intercept):
        self.X, self.target, self.scale, self.l2 = X, targets[:, 1], scale, l2
        self.d, self.fit_intercept = X.shape[1], fit_intercept
        self.size = self.d + (1 if fit_intercept else 0)

    def unpack(self, params):
        intercept = params[self.d:] if self.fit_intercept else np.zeros(1)
        return params[:self.d].reshape(1, self.d), intercept

    def loss_grad(self, params):
        coef, intercept = self.unpack(params)
        logits = self.X @ coef[0] + intercept[0]
        loss = -self.scale @ (self.target * log_expit(logits)
                              + (1 - self.target) * log_expit(-logits))
        loss += 0.5 * self.l2 * coef[0] @ coef[0]
        self._proba, self._at = expit(logits), params.copy()
        residual = self.scale * (self._proba - self.target)
        grad = np.asarray(self.X.T @ residual).ravel() + self.l2 * coef[0]
        return loss, self.pack(grad, [residual.sum()])

    def hessp(self, params, vector):
        proba = self._probabilities(params)
        v_coef, v_intercept = self.unpack(vector)
        curvature = self.scale * proba * (1 - proba) * (self.X @ v_coef[0] + v_intercept[0])
        h = np.asarray(self.X.T @ curvature).ravel() + self.l2 * v_coef[0]
        return self.pack(h, [curvature.sum()])
