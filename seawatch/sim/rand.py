"""Counter-based random numbers: a value depends only on (seed, stream, keys), not on order.

The simulator draws every per-report random number (speed noise, reception, GNSS jitter,
garbling) from a hash of the scenario seed, a *stream* number naming what the number is
for, and two integer keys, usually (track, transmission second). So the same report gets the
same numbers whether it is computed in one pass over the whole scenario, in blocks of
vessels or in blocks of time: the output does not depend on how the work was cut up, which
is what lets large scenarios stream in bounded memory.

The hash is SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014) applied twice over
the combined inputs, in a numba kernel (about 3 ns a number).

>>> a = uniform(1, 7, np.arange(5), 0)
>>> bool(((a >= 0) & (a < 1)).all())
True
>>> bool((uniform(1, 7, np.arange(5), 0) == a).all())
True
>>> bool((uniform(2, 7, np.arange(5), 0) == a).any())  # another seed
False
"""

from __future__ import annotations

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_K1 = np.uint64(0xD6E8FEB86659FD93)
_K2 = np.uint64(0xA0761D6478BD642F)
_INV53 = 1.0 / 9007199254740992.0


@nb.njit(cache=True, inline="always")
def _mix(x: np.uint64) -> np.uint64:
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


@nb.njit(cache=True)
def _uniform(base: np.uint64, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    na = a.shape[0]
    nb_ = b.shape[0]
    for i in range(out.shape[0]):
        ka = np.uint64(a[i if na > 1 else 0])
        kb = np.uint64(b[i if nb_ > 1 else 0])
        h = _mix(base ^ (ka * _K1))
        h = _mix((h + _GOLDEN) ^ (kb * _K2))
        out[i] = np.float64(h >> np.uint64(11)) * _INV53


@nb.njit(cache=True)
def _normal(base1: np.uint64, base2: np.uint64, a: np.ndarray, b: np.ndarray,
            out: np.ndarray) -> None:
    na = a.shape[0]
    nb_ = b.shape[0]
    for i in range(out.shape[0]):
        ka = np.uint64(a[i if na > 1 else 0])
        kb = np.uint64(b[i if nb_ > 1 else 0])
        h1 = _mix((_mix(base1 ^ (ka * _K1)) + _GOLDEN) ^ (kb * _K2))
        h2 = _mix((_mix(base2 ^ (ka * _K1)) + _GOLDEN) ^ (kb * _K2))
        u1 = np.float64(h1 >> np.uint64(11)) * _INV53
        u2 = np.float64(h2 >> np.uint64(11)) * _INV53
        out[i] = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def _base(seed: int, stream: int) -> np.uint64:
    s = int(seed) & 0xFFFFFFFFFFFFFFFF
    x = (s * 0x9E3779B97F4A7C15 + (int(stream) & 0xFFFFFFFF) * 0xC2B2AE3D27D4EB4F) \
        & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(x ^ (x >> 31))


def uniform(seed: int, stream: int, a: np.ndarray | int, b: np.ndarray | int = 0
            ) -> np.ndarray:
    """Uniform floats in [0, 1) (53 random bits) for each key pair (``a``, ``b``).

    ``a`` and ``b`` are integer arrays of one length, or one of them a scalar.
    """
    ka, kb, n = _keys(a, b)
    out = np.empty(n, np.float64)
    _uniform(_base(seed, stream), ka, kb, out)
    return out


def _keys(a: np.ndarray | int, b: np.ndarray | int) -> tuple[np.ndarray, np.ndarray, int]:
    ka = np.atleast_1d(np.asarray(a)).astype(np.int64).view(np.uint64)
    kb = np.atleast_1d(np.asarray(b)).astype(np.int64).view(np.uint64)
    if kb.size == 1:
        n = ka.size
    elif ka.size == 1:
        n = kb.size
    elif ka.size == kb.size:
        n = ka.size
    else:
        raise ValueError(f"key arrays of lengths {ka.size} and {kb.size} do not broadcast")
    return ka, kb, n


def normal(seed: int, stream: int, a: np.ndarray | int, b: np.ndarray | int = 0
           ) -> np.ndarray:
    """Standard normal floats (Box-Muller on two independent uniforms).

    >>> x = normal(3, 1, np.arange(200_000))
    >>> abs(float(x.mean())) < 0.01, round(float(x.std()), 1)
    (True, 1.0)
    """
    ka, kb, n = _keys(a, b)
    out = np.empty(n, np.float64)
    _normal(_base(seed, stream), _base(seed, stream + 0x5BD1E995), ka, kb, out)
    return out


def integers(seed: int, stream: int, low: int, high: int, a: np.ndarray | int,
             b: np.ndarray | int = 0) -> np.ndarray:
    """Integers in [low, high) for each key pair.

    >>> v = integers(5, 2, 0, 6, np.arange(1000))
    >>> int(v.min()), int(v.max())
    (0, 5)
    """
    return low + np.floor(uniform(seed, stream, a, b) * (high - low)).astype(np.int64)
