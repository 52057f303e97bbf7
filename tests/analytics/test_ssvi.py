"""SSVI surfaces and the static-arbitrage checker."""

import numpy as np
import pytest

from rulesengine.analytics.ssvi import SSVI, butterfly_density, check_surface, raw_svi

EXPIRIES = [7 / 365, 30 / 365, 91 / 365, 0.5, 1.0, 2.0]


def test_the_spx_fit_is_free_of_static_arbitrage():
    surface = SSVI()
    assert surface.no_arbitrage_conditions()
    assert check_surface(surface.total_variance, EXPIRIES).free
    # the fit's ATM term structure rises like the real one (~15% short, ~22% at two years)
    assert 0.12 < surface.implied_vol(0.0, 18 / 365) < 0.16
    assert 0.20 < surface.implied_vol(0.0, 2.0) < 0.24
    assert surface.implied_vol(-0.2, 0.25) > surface.implied_vol(0.2, 0.25)  # put skew


def test_checker_flags_the_known_arbitrageable_svi_slice():
    # Gatheral & Jacquier (2014), the slice due to Axel Vogt: butterfly arbitrage near k = 0.8
    vogt = raw_svi(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)
    g = butterfly_density(vogt, np.linspace(-1.5, 1.5, 601))
    assert g.min() < 0
    report = check_surface(lambda k, t: vogt(k), [1.0])
    assert report.butterfly and not report.free


def test_checker_flags_calendar_arbitrage():
    def crossing(k, t):  # total variance that falls from 0.01 to 0.005 between the slices
        return (0.01 if t < 0.5 else 0.005) * (1 + k * k)

    report = check_surface(crossing, [0.25, 1.0])
    assert report.calendar and not report.butterfly


def test_anchoring_to_a_quoted_vol():
    anchored = SSVI().anchored(0.30)  # VIX at 30
    assert anchored.implied_vol(0.0, 30 / 365) == pytest.approx(0.30)
    assert check_surface(anchored.total_variance, EXPIRIES).free
    assert SSVI(eta=2.0, rho=-0.54).no_arbitrage_conditions() is False
