"""How the metrics' numbers are rounded and written (docs/metrics.md#rounding).

The SQL returns exact integers (counts, sums of microseconds) and medians
that are exact halves of microseconds; this module turns them into the
documented values with exact rational arithmetic, so a total that lies
exactly between two decimals always rounds the same way (half up) whatever
the platform's floating point does.
"""

from __future__ import annotations

from fractions import Fraction
from math import floor

MICROSECONDS = 1_000_000


def round_half_up(value: Fraction, places: int) -> float:
    """``value`` (>= 0) rounded half up to ``places`` decimals, as the nearest float."""
    scale = 10**places
    return float(Fraction(floor(value * scale + Fraction(1, 2)), scale))


def pct(part: int, whole: int) -> str:
    """``pct(a, b)`` of docs/metrics.md#rounding: ``"NN.NN%"``, ``"0.00%"`` when ``whole`` is 0."""
    if whole == 0:
        return "0.00%"
    hundredths = floor(Fraction(100 * 100 * part, whole) + Fraction(1, 2))
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def percentage(part: int, whole: int) -> float:
    """A percentage as a number rounded to 2 decimals, 0 when ``whole`` is 0 (the bins of docs/metrics.md#conversion-summary)."""
    if whole == 0:
        return 0.0
    return round_half_up(Fraction(100 * part, whole), 2)


def ratio(numerator: int, denominator: int) -> float | None:
    """An average of counts to 1 decimal, ``None`` over nothing (docs/metrics.md#user-summary)."""
    if denominator == 0:
        return None
    return round_half_up(Fraction(numerator, denominator), 1)


def mean_seconds(total_us: int | None, count: int) -> float | None:
    """The mean of microsecond durations, in seconds to 1 decimal; ``None`` over nothing."""
    if count == 0 or total_us is None:
        return None
    return round_half_up(Fraction(int(total_us), count * MICROSECONDS), 1)


def median_seconds(median_us: float | None) -> float | None:
    """A median of microsecond durations in seconds to 1 decimal; ``None`` over nothing.

    The engine's exact median of integers (``Dialect.exact_median``) is the mean
    of the two middle values: a multiple of 0.5 µs, exactly representable as a
    double for any duration under about 71 years.
    """
    if median_us is None:
        return None
    return round_half_up(Fraction(median_us) / MICROSECONDS, 1)
