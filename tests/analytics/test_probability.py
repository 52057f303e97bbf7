import numpy as np
import pytest
from scipy.special import ndtr

from rulesengine.analytics.probability import expected_move_iv, expected_move_straddle, prob_touch


def test_driftless_touch_is_twice_the_probability_of_finishing_beyond():
    vol, years = 0.2, 0.5
    rate = 0.5 * vol * vol  # makes the drift of ln S zero
    for barrier in (110.0, 90.0):
        beyond = ndtr(-abs(np.log(barrier / 100.0)) / (vol * np.sqrt(years)))
        assert prob_touch(100.0, barrier, vol, years, rate) == pytest.approx(2 * beyond)


def test_touch_bounds_and_monotonicity():
    barriers = np.linspace(101, 200, 50)
    p = prob_touch(100.0, barriers, 0.3, 0.25, 0.03, 0.01)
    assert (np.diff(p) < 0).all() and (p > 0).all() and (p < 1).all()
    assert prob_touch(100.0, 100.0, 0.3, 0.25) == 1.0
    below = prob_touch(100.0, np.linspace(99, 50, 50), 0.3, 0.25, 0.03, 0.01)
    assert (np.diff(below) < 0).all()


def test_touch_against_a_monte_carlo_with_fine_steps():
    rng = np.random.default_rng(4)
    vol, years, rate, steps, paths = 0.25, 0.25, 0.05, 2000, 20000
    dt = years / steps
    log_path = np.cumsum(
        (rate - 0.5 * vol * vol) * dt + vol * np.sqrt(dt) * rng.standard_normal((paths, steps)),
        axis=1,
    )
    touched = (log_path.max(axis=1) >= np.log(1.08)).mean()
    # discrete monitoring misses some touches: the simulation sits a little below the formula
    assert prob_touch(100.0, 108.0, vol, years, rate) == pytest.approx(touched, abs=0.02)


def test_expected_moves():
    assert expected_move_iv(100.0, 0.2, 0.25) == pytest.approx(10.0)
    assert expected_move_straddle(3.0, 2.5) == 5.5
