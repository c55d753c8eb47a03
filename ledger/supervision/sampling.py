"""The arithmetic of a spot-check draw (双随机抽查), pure: a seed in, the same selection out.

Both the risk package, which makes a draw, and the ``spot_check_draw`` rule, which re-runs it
before the entry is admitted, call :func:`draw`; anyone else can re-run it from the two
entries alone, in any language, from this description:

* **Random stream.** ``key = SHA-256("tracenet/spot-check/v1\\n" || seed || salt)``, where
  ``seed`` is the 32 revealed bytes and ``salt`` the leaf hash of the plan entry that
  committed to them; block ``i`` (from 0) is ``SHA-256(key || i as 8 bytes big-endian)``. A
  number below ``m`` takes the next block, reads its first ``bits(m - 1)`` bits as an unsigned
  integer and starts again on the next block when that is ``>= m`` (rejection, so every value
  is exactly equally likely).
* **Probability proportional to size.** Units (enterprises, then each drawn enterprise's
  lots) carry positive integer weights. To choose ``n`` of them, units whose share of the
  remaining weight would give them a probability of one or more are taken first, the
  heaviest first (ties: the earlier in the frame), ``n`` counting down. The rest are put in a
  random order (Fisher-Yates: for ``i`` from the last position down to 1, swap with position
  ``below(i + 1)``), laid end to end on ``[0, n * W)`` with lengths ``n * w``, and the units
  under the points ``r + j * W`` for ``j < n`` are chosen, ``r = below(W)``. Each unit is
  then chosen with probability exactly ``n * w / W`` and never twice (systematic sampling in
  a random order, Goodman and Kish 1950); with ``n = 1`` that is one weighted pick.
* **Order.** Enterprises are drawn first, in the frame's order; then, for each chosen
  enterprise in the frame's order, its lots from the same stream.

The frame (who may be drawn, with which weights) and the commitment to the seed are published
in the plan entry before the seed is revealed, so a draw can be neither chosen after the fact
nor steered by editing the frame afterwards; the salt makes a seed ground against the frame in
advance useless once the plan entry's own hash is fixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DOMAIN", "DrawStream", "FrameEnterprise", "commitment", "draw", "pps"]

#: the stream's domain separation prefix, so no other hash in the system can collide with it
DOMAIN = b"tracenet/spot-check/v1\n"


def commitment(seed: bytes) -> str:
    """The published commitment to ``seed``: ``sha256:`` and the hex SHA-256 of its bytes."""
    return "sha256:" + hashlib.sha256(seed).hexdigest()


class DrawStream:
    """The deterministic stream of uniform numbers a seed and salt give (see the module)."""

    def __init__(self, seed: bytes, salt: bytes) -> None:
        self._key = hashlib.sha256(DOMAIN + seed + salt).digest()
        self._block = 0

    def _next(self) -> int:
        digest = hashlib.sha256(self._key + self._block.to_bytes(8, "big")).digest()
        self._block += 1
        return int.from_bytes(digest, "big")

    def below(self, m: int) -> int:
        """A uniform integer in ``[0, m)``; ``m`` must be positive and below 2**256."""
        if not 0 < m <= 1 << 256:
            raise ValueError(f"expected 0 < m <= 2**256, got {m}")
        bits = (m - 1).bit_length()
        while True:
            value = self._next() >> (256 - bits) if bits else 0
            if value < m:
                return value


def pps(stream: DrawStream, weights: Sequence[int], n: int) -> list[int]:
    """Choose ``n`` of the units (by index) with probability proportional to their weights.

    Units of weight 0 are never chosen; when ``n`` is at least the number of units that can
    be, all of them are. The indices come back sorted.
    """
    if any(weight < 0 for weight in weights):
        raise ValueError("weights cannot be negative")
    remaining = [index for index, weight in enumerate(weights) if weight > 0]
    if n <= 0:
        return []
    if n >= len(remaining):
        return remaining
    chosen: list[int] = []
    left = n
    while left:
        total = sum(weights[index] for index in remaining)
        heaviest = max(remaining, key=lambda index: (weights[index], -index))
        if left * weights[heaviest] < total:
            break
        chosen.append(heaviest)
        remaining.remove(heaviest)
        left -= 1
    if left:
        order = list(remaining)
        for position in range(len(order) - 1, 0, -1):
            other = stream.below(position + 1)
            order[position], order[other] = order[other], order[position]
        total = sum(weights[index] for index in order)
        start = stream.below(total)
        points = [start + j * total for j in range(left)]
        edge, point = 0, 0
        for index in order:
            edge += left * weights[index]
            if point < left and points[point] < edge:
                chosen.append(index)
                point += 1
    return sorted(chosen)


@dataclass(frozen=True)
class FrameEnterprise:
    """One unit of a draw's frame: an enterprise, its weight and its lots' weights."""

    uscc: str
    weight: int
    lots: tuple[tuple[tuple[str, str], int], ...] = ()


def draw(seed: bytes, salt: bytes, frame: Sequence[FrameEnterprise], enterprises: int,
         lots_per_enterprise: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """The enterprises drawn from ``frame``, each with the lots drawn from it, in frame order."""
    stream = DrawStream(seed, salt)
    picked = pps(stream, [unit.weight for unit in frame], enterprises)
    selection: list[tuple[str, list[tuple[str, str]]]] = []
    for index in picked:
        unit = frame[index]
        lots = pps(stream, [weight for _, weight in unit.lots], lots_per_enterprise)
        selection.append((unit.uscc, [unit.lots[lot][0] for lot in lots]))
    return selection
