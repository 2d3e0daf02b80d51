"""Optimizer steps against their textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from core.network.optim import OPTIMIZERS, Adam, Momentum, make_optimizer


def test_sgd_step_subtracts_lr_times_gradient(rng: np.random.Generator) -> None:
    p, g = rng.standard_normal((2, 3, 4))
    expected = p - 0.1 * g
    make_optimizer("sgd", 0.1).step([p], [g.copy()])
    assert_allclose(p, expected)


def test_momentum_accumulates_velocity(rng: np.random.Generator) -> None:
    p = rng.standard_normal(5)
    g1, g2 = rng.standard_normal((2, 5))
    opt = Momentum(0.1, momentum=0.9)
    expected = p - 0.1 * g1 + (0.9 * (-0.1 * g1) - 0.1 * g2)
    opt.step([p], [g1.copy()])
    opt.step([p], [g2.copy()])
    assert_allclose(p, expected)


def test_adam_matches_kingma_and_ba(rng: np.random.Generator) -> None:
    p = rng.standard_normal(6)
    grads = rng.standard_normal((3, 6))
    ref, m, v = p.copy(), np.zeros(6), np.zeros(6)
    opt = Adam(0.01)
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        # Adam folds the bias correction into the step size, which moves ε by √(1 − β2ᵗ).
        ref -= 0.01 * m_hat / (np.sqrt(v_hat) + 1e-7 / np.sqrt(1 - 0.999**t))
        opt.step([p], [g.copy()])
    assert_allclose(p, ref, rtol=1e-12)


def test_optimizers_keep_float32(rng: np.random.Generator) -> None:
    for name in OPTIMIZERS:
        p = rng.standard_normal(4, dtype=np.float32)
        make_optimizer(name, 0.1).step([p], [np.ones(4, np.float32)])
        assert p.dtype == np.float32


def test_make_optimizer_bad_input_names_choices() -> None:
    with pytest.raises(ValueError, match="choose one of: sgd, momentum, adam"):
        make_optimizer("lbfgs", 0.1)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        make_optimizer("sgd", 0)
