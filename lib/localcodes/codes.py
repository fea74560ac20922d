"""Paper 000's input codes (prototype blocks + random fill) and output codes (distributed or 1-hot).

Construction (Fig. 1 of *Under what circumstances do local codes emerge in feed-forward neural networks*, "paper
000" in the book): class ``z``'s prototype has ones in block ``z`` (``length / n_classes`` bits) and zeros
elsewhere. A codeword of class ``z`` is

* the prototype block, each of its ones turned off independently with probability ``perturb`` (a fresh
  draw for every codeword: the invariant is then only *likely*, not certain), plus
* a random vector with **exactly** ``round(random_weight * (length - block))`` ones spread over the other
  ``length - block`` bits (random bits never land in the prototype block, so they never overwrite a bit the
  perturbation turned off).

``shared_random=True`` reproduces a quirk of the authors' code: codeword ``w`` of *every* class reuses the
same random vector ``w`` (so the classes differ only in their prototype block). Fresh test sets of any size
come from the same prototypes (:meth:`Code.test_set`), and :meth:`Code.shuffled` assigns targets at random
(experiment 13, memorisation).

Typical use::

    from localcodes import codes
    train = codes.prototype_code(n_per_class=50, seed=0)        # experiment 1: 500 x 500 bits, 10 classes
    test = train.test_set(n_per_class=1000, seed=1)              # 10,000 fresh codewords, same prototypes
    out = codes.output_code(10, kind="distributed", seed=0)      # (10, 50) targets, 25 ones each
    targets = out[train.y]                                       # (500, 50)

Everything is numpy, seeded with :func:`numpy.random.default_rng`: same seed, same code on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "OUTPUT_KINDS",
    "Code",
    "prototype_code",
    "output_code",
    "hamming",
    "class_distances",
]

OUTPUT_KINDS = ("distributed", "onehot")


@dataclass(frozen=True)
class Code:
    """A prototype code: inputs ``X`` (n, length) of 0/1 float32, classes ``y`` (n,) int64.

    ``prototypes`` (n_classes, length) uint8 are the class prototypes (not members of the code);
    ``invariant`` (n_classes, length) bool marks each class's prototype block (the bits that are on for every
    member of the class when ``perturb == 0``); ``kept`` (n, length) bool marks, per codeword, the prototype
    bits that survived the perturbation. ``source`` (n,) is the class whose prototype built each codeword: it
    equals ``y`` except after :meth:`shuffled`. ``params`` holds the arguments of :func:`prototype_code`.
    """

    X: np.ndarray
    y: np.ndarray
    prototypes: np.ndarray
    invariant: np.ndarray
    kept: np.ndarray
    source: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return int(self.prototypes.shape[0])

    @property
    def length(self) -> int:
        return int(self.prototypes.shape[1])

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def test_set(self, n_per_class: int, seed: int) -> Code:
        """Fresh codewords from the same prototypes and parameters (a test or validation set of any size).

        Use a ``seed`` different from the training code's: the same seed regenerates the training code itself.
        """
        p = dict(self.params)
        p.update(n_per_class=n_per_class, seed=seed)
        return prototype_code(**p)

    def shuffled(self, seed: int = 0) -> Code:
        """The same codewords with targets permuted at random (experiment 13: the net must memorise).

        ``y`` becomes the shuffled target class; ``source`` keeps the class of the prototype behind each
        codeword.
        """
        rng = np.random.default_rng([seed, 13])
        return replace(self, y=self.y[rng.permutation(len(self.y))].copy())


def _check_code_args(
    n_classes: int, length: int, n_per_class: int, random_weight: float, perturb: float
) -> int:
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2; got {n_classes!r}")
    if not isinstance(length, (int, np.integer)) or length < n_classes or length % n_classes:
        raise ValueError(f"length must be a positive multiple of n_classes ({n_classes}); got {length!r}")
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be an integer >= 1; got {n_per_class!r}")
    if not 0.0 <= random_weight <= 1.0:
        raise ValueError(
            f"random_weight must be in [0, 1] (share of ones in the random part); got {random_weight}"
        )
    if not 0.0 <= perturb <= 1.0:
        raise ValueError(f"perturb must be in [0, 1] (chance a prototype one is turned off); got {perturb}")
    return length // n_classes


def _random_vectors(rng: np.random.Generator, n: int, n_bits: int, weight: int) -> np.ndarray:
    """``n`` binary vectors of ``n_bits`` bits with exactly ``weight`` ones each (argsort of noise)."""
    ranks = np.argsort(rng.random((n, n_bits)), axis=1)
    return (ranks < weight).astype(np.uint8)


def prototype_code(
    n_classes: int = 10,
    length: int = 500,
    n_per_class: int = 50,
    random_weight: float = 1 / 3,
    perturb: float = 0.0,
    shared_random: bool = False,
    seed: int = 0,
) -> Code:
    """Paper 000's code: ``n_classes * n_per_class`` codewords of ``length`` bits (see the module docstring).

    Parameters
    ----------
    n_classes : number of classes (= prototypes); ``length`` must be a multiple of it.
    length : bits per codeword (L_x; paper: 500, experiment 4 also 300, 700, 1000).
    n_per_class : codewords per class (experiment 1: 50 → n_x = 500; experiment 2: 25 → 250).
    random_weight : S_R, the share of ones in the random part (paper: 1/3; experiment 3: 1/9, 2/9, 1/3).
        The random part has exactly ``round(random_weight * (length - length/n_classes))`` ones.
    perturb : probability that each prototype one is turned off in a codeword (experiment 7: 0 to 0.5).
    shared_random : the original code's quirk, codeword w of every class reuses random vector w.
    seed : seeds everything (numpy ``default_rng``).

    Rows are ordered class by class (class 0's codewords first); training shuffles them anyway.
    """
    block = _check_code_args(n_classes, length, n_per_class, random_weight, perturb)
    rng = np.random.default_rng(seed)
    n = n_classes * n_per_class
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)

    prototypes = np.zeros((n_classes, length), dtype=np.uint8)
    for z in range(n_classes):  # n_classes rows: a tiny loop that reads like Fig. 1
        prototypes[z, z * block : (z + 1) * block] = 1
    invariant = prototypes.astype(bool)

    n_free = length - block
    weight = int(round(random_weight * n_free))
    n_vectors = n_per_class if shared_random else n
    rand = _random_vectors(rng, n_vectors, n_free, weight)
    if shared_random:
        rand = np.tile(rand, (n_classes, 1))  # codeword w of every class gets random vector w

    # perturbation: each prototype one survives with probability 1 - perturb, drawn per codeword
    keep_block = rng.random((n, block)) >= perturb
    X = np.zeros((n, length), dtype=np.uint8)
    kept = np.zeros((n, length), dtype=bool)
    free_mask = ~invariant[y]  # (n, length): the bits outside each codeword's prototype block
    X[free_mask] = rand.reshape(-1)
    kept[invariant[y]] = keep_block.reshape(-1)
    X[kept] = 1
    params = dict(
        n_classes=n_classes,
        length=length,
        n_per_class=n_per_class,
        random_weight=random_weight,
        perturb=perturb,
        shared_random=shared_random,
        seed=seed,
    )
    return Code(X.astype(np.float32), y, prototypes, invariant, kept, y.copy(), params)


def output_code(
    n_classes: int = 10, kind: str = "distributed", length: int = 50, weight: int | None = None, seed: int = 0
) -> np.ndarray:
    """Target vectors, one row per class, float32 0/1.

    ``kind="distributed"``: ``length``-bit random codes with exactly ``weight`` ones (default ``length // 2``;
    paper 000: 50 bits, weight 25), all distinct. ``kind="onehot"``: the (n_classes, n_classes) identity
    (``length`` and ``weight`` are ignored).
    """
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"kind must be one of {OUTPUT_KINDS}; got {kind!r}")
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2; got {n_classes!r}")
    if kind == "onehot":
        return np.eye(n_classes, dtype=np.float32)
    weight = length // 2 if weight is None else weight
    if not 1 <= weight < length:
        raise ValueError(f"weight must be between 1 and length - 1 ({length - 1}); got {weight}")
    rng = np.random.default_rng([seed, 50])
    for _ in range(100):  # distinct codes: a collision is astronomically rare for 50-bit codes, but check
        codes = _random_vectors(rng, n_classes, length, weight)
        if len(np.unique(codes, axis=0)) == n_classes:
            return codes.astype(np.float32)
    raise ValueError(f"length: could not draw {n_classes} distinct {length}-bit codes of weight {weight}")


def hamming(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Pairwise Hamming distances between the rows of ``a`` and ``b`` (default ``a``), (len(a), len(b))."""
    a = np.asarray(a, dtype=np.float32)
    b = a if b is None else np.asarray(b, dtype=np.float32)
    # for 0/1 vectors: |a - b|_1 = |a| + |b| - 2 a.b
    return np.rint(a.sum(1)[:, None] + b.sum(1)[None, :] - 2 * a @ b.T).astype(np.int64)


def class_distances(code: Code) -> tuple[float, float]:
    """Mean Hamming distance within classes (distinct pairs) and between classes (paper 000 §2)."""
    d = hamming(code.X)
    same = code.y[:, None] == code.y[None, :]
    off_diag = ~np.eye(len(code.y), dtype=bool)
    return float(d[same & off_diag].mean()), float(d[~same].mean())
