"""RFC 6962 Merkle trees: the compact range a sealer appends to, and proofs built from stored nodes.

Only perfect subtrees are ever stored (a node at `level` covering leaves
[index * 2**level, (index + 1) * 2**level)): once complete they never change, so appending
leaves only adds nodes. Any other subtree hash (the ragged right edge of a tree) is folded from
at most log2(n) perfect ones. Verification lives in tracker/verify_pack.py, the one file shipped
in evidence packs, so the server and an auditor check proofs with the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tracker.verify_pack import EMPTY_ROOT, leaf_hash, node_hash

__all__ = ["EMPTY_ROOT", "Frontier", "MemoryTree", "Tree", "leaf_hash", "node_hash"]

# perfect(level, index) -> the hash of that perfect subtree (level 0: the leaf hash)
PerfectNodes = Callable[[int, int], bytes]


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n > 1): RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees that make up a tree of `size`, left to right."""
    out, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            out.append((level, start >> level))
            start += 1 << level
    return out


@dataclass
class Frontier:
    """The compact range of a tree: the roots of its perfect subtrees, left to right.

    Appending a leaf costs O(1) amortised and reports each perfect node it completes, so a
    sealer's work follows the number of new leaves, never the size of the tree.
    """

    size: int = 0
    nodes: list[tuple[int, bytes]] = field(default_factory=list)  # (level, hash)

    @classmethod
    def load(cls, size: int, perfect: PerfectNodes) -> Frontier:
        return cls(
            size, [(level, perfect(level, index)) for level, index in perfect_subtrees(size)]
        )

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the (level, index, hash) of every perfect node completed."""
        completed = []
        self.nodes.append((0, leaf))
        index = self.size
        while len(self.nodes) >= 2 and self.nodes[-1][0] == self.nodes[-2][0]:
            (level, right), (_, left) = self.nodes.pop(), self.nodes.pop()
            index >>= 1
            parent = node_hash(left, right)
            self.nodes.append((level + 1, parent))
            completed.append((level + 1, index, parent))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1][1]
        for _, left in reversed(self.nodes[:-1]):
            root = node_hash(left, root)
        return root


class Tree:
    """Proofs for a tree of `size` leaves whose perfect subtrees `perfect` can fetch."""

    def __init__(self, size: int, perfect: PerfectNodes) -> None:
        self.size = size
        self.perfect = perfect

    def hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range starting on a boundary of its own split (RFC 6962)."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            return self.perfect(n.bit_length() - 1, start // n)
        k = split_point(n)
        return node_hash(self.hash(start, start + k), self.hash(start + k, end))

    def root(self) -> bytes:
        return self.hash(0, self.size)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(m, D[n]) of RFC 6962 2.1.1."""
        if not 0 <= index < self.size:
            raise ValueError(f"leaf {index} is not in a tree of {self.size}")
        proof: list[bytes] = []
        start, end = 0, self.size
        while end - start > 1:
            k = split_point(end - start)
            if index < start + k:
                proof.append(self.hash(start + k, end))
                end = start + k
            else:
                proof.append(self.hash(start, start + k))
                start += k
        return proof[::-1]

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 6962 2.1.2."""
        if not 0 <= old_size <= self.size:
            raise ValueError(f"a tree of {self.size} has no earlier size {old_size}")
        if old_size in (0, self.size):
            return []
        proof: list[bytes] = []
        m, start, end, whole = old_size, 0, self.size, True
        while m != end - start:
            k = split_point(end - start)
            if m <= k:
                proof.append(self.hash(start + k, end))
                end = start + k
            else:
                proof.append(self.hash(start, start + k))
                m, start, whole = m - k, start + k, False
        if not whole:
            proof.append(self.hash(start, end))
        return proof[::-1]


class MemoryTree(Tree):
    """A tree held in memory (tests, and rebuilding a tree to compare with the stored one)."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.leaves = [leaf_hash(data) for data in leaves]
        self._nodes: dict[tuple[int, int], bytes] = {}
        super().__init__(len(self.leaves), self._perfect)

    def _perfect(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.leaves[index]
        key = (level, index)
        if key not in self._nodes:
            self._nodes[key] = node_hash(
                self._perfect(level - 1, 2 * index), self._perfect(level - 1, 2 * index + 1)
            )
        return self._nodes[key]

    def at_size(self, size: int) -> Tree:
        return Tree(size, self._perfect)
