"""Word vectors learnt here from unlabelled biomedical text (no pretrained vectors can be downloaded).

Positive pointwise mutual information of words within a window, reduced by a truncated SVD
(Levy & Goldberg 2014: close to word2vec on small corpora, deterministic and fast). The text is
the training abstracts plus sentences of other PubMed abstracts and case reports from the shared
data (medical_abstracts, ADE-Corpus-V2): their words only, never their labels.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from medcore.literature.features import normal_word

__all__ = ["vocabulary", "ppmi_vectors"]


def vocabulary(token_lists: list[list[str]], min_count: int = 2) -> dict[str, int]:
    """Word ids (from 2; 0 = padding, 1 = unknown) of words seen at least ``min_count`` times."""
    counts = Counter(normal_word(t) for tokens in token_lists for t in tokens)
    return {w: i + 2 for i, w in enumerate(sorted(w for w, n in counts.items() if n >= min_count))}


def ppmi_vectors(
    token_lists: list[list[str]], words: dict[str, int], dim: int = 100, window: int = 4, seed: int = 0
) -> np.ndarray:
    """(len(words) + 2, dim) vectors, rows 0/1 zero, scaled for an embedding layer's initialiser."""
    from scipy import sparse
    from sklearn.decomposition import TruncatedSVD

    size = len(words) + 2
    rows, cols, weights = [], [], []
    for tokens in token_lists:
        ids = np.array([words.get(normal_word(t), 1) for t in tokens], dtype=np.int64)
        for offset in range(1, window + 1):
            if len(ids) <= offset:
                break
            a, b = ids[:-offset], ids[offset:]
            keep = (a > 1) & (b > 1)
            w = np.full(int(keep.sum()), 1.0 / offset)
            rows += [a[keep], b[keep]]
            cols += [b[keep], a[keep]]
            weights += [w, w]
    counts = sparse.coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    ).tocsr()
    total = counts.sum()
    row_sum = np.asarray(counts.sum(axis=1)).ravel()
    context = np.asarray(counts.sum(axis=0)).ravel() ** 0.75  # context distribution smoothing
    context /= context.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data * 1.0 / total) - np.log(row_sum[coo.row] / total) - np.log(context[coo.col])
    keep = pmi > 0
    ppmi = sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(size, size))
    svd = TruncatedSVD(dim, algorithm="randomized", n_iter=7, random_state=seed)
    vectors = svd.fit_transform(ppmi)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    vectors[:2] = 0.0
    return (vectors * 0.5).astype(np.float32)
