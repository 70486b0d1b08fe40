"""RFC 6962 hashing and proofs against the published Certificate Transparency test tree.

The values are the reference vectors of the CT test tree of 8 leaves (as published with
github.com/google/certificate-transparency and github.com/transparency-dev/merkle): the leaf
inputs, the root hash at every size, and inclusion and consistency proofs. Indices in the
published inclusion vectors are 1-based; they are converted here.
"""

from __future__ import annotations

import base64

import pytest

from tracker.services.merkle import Frontier, MemoryTree, leaf_hash
from tracker.verify_pack import (
    EMPTY_ROOT,
    NoteError,
    VerifierKey,
    open_note,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

ROOTS = [  # the root of the tree of the first 1, 2, ... 8 leaves
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

INCLUSION = [  # (1-based leaf, tree size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_empty_tree_and_leaf_hashes():
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == ROOTS[0]  # H(0x00): not the empty tree's hash
    assert MemoryTree().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_root_at_every_size(size):
    assert MemoryTree(LEAVES[:size]).root().hex() == ROOTS[size - 1]
    frontier = Frontier()
    for data in LEAVES[:size]:
        frontier.append(leaf_hash(data))
    assert frontier.root().hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs(leaf, size, proof):
    tree = MemoryTree(LEAVES[:size])
    assert tree.inclusion_proof(leaf - 1) == hexes(proof)
    root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), hexes(proof), root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs(old, new, proof):
    assert MemoryTree(LEAVES[:new]).consistency_proof(old) == hexes(proof)
    assert verify_consistency(
        old, new, bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1]), hexes(proof)
    )


def test_every_proof_of_the_test_tree_round_trips():
    tree = MemoryTree(LEAVES)
    for size in range(1, 9):
        at = tree.at_size(size)
        root = bytes.fromhex(ROOTS[size - 1])
        for index in range(size):
            proof = at.inclusion_proof(index)
            assert verify_inclusion(index, size, leaf_hash(LEAVES[index]), proof, root)
        for old in range(1, size + 1):
            proof = at.consistency_proof(old)
            assert verify_consistency(old, size, bytes.fromhex(ROOTS[old - 1]), root, proof)


def test_wrong_proofs_fail():
    root = bytes.fromhex(ROOTS[7])
    proof = hexes(INCLUSION[1][2])
    good = leaf_hash(LEAVES[0])
    assert not verify_inclusion(1, 8, good, proof, root)  # wrong index
    assert not verify_inclusion(0, 9, good, proof, root)  # wrong size
    assert not verify_inclusion(0, 4, good, proof, root)
    assert not verify_inclusion(0, 8, leaf_hash(b"x"), proof, root)
    assert not verify_inclusion(0, 8, good, proof[:-1], root)  # short
    assert not verify_inclusion(0, 8, good, [*proof, proof[0]], root)  # long
    assert root_from_inclusion(8, 8, good, proof) is None
    consistency = hexes(CONSISTENCY[2][2])
    old, new = bytes.fromhex(ROOTS[5]), bytes.fromhex(ROOTS[7])
    assert not verify_consistency(6, 8, new, new, consistency)
    assert not verify_consistency(5, 8, old, new, consistency)
    assert not verify_consistency(6, 8, old, new, consistency[:-1])
    assert not verify_consistency(8, 6, new, old, consistency)


# The example of c2sp.org/signed-note (v1.0.0): a verifier key and the note it verifies.
SPEC_KEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n"
    "\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mF"
    "XmRKuwHjG1Yu72IneyaQM=\n"
)


def test_the_signed_note_spec_example_verifies():
    key = VerifierKey.parse(SPEC_KEY)
    assert str(key) == SPEC_KEY
    assert open_note(SPEC_NOTE, key) == "This is an example message.\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(SPEC_NOTE.replace("example message", "example massage"), key)
    other = VerifierKey.parse(SPEC_KEY)
    forged = base64.b64encode(b"\x01" + bytes(32)).decode()
    with pytest.raises(NoteError):
        VerifierKey.parse(f"example.com/foo+{other.id.hex()}+{forged}")
