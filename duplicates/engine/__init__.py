"""The dedupe engine: pure Python + NumPy, no Django. Every stage is a function of plain data.

Data types (:mod:`.types`)
    ``DocFeatures``  one document in: id, text, checksum, archive_checksum, correspondent_id,
                     document_type_id, created, added, page_count, size, title,
                     original_file_name, has_archive, original_kept, tag_count, dhash, phash
                     (int or bytes), signature (a stored sketch blob, optional).
    ``PairScore``    an edge out (alias ``Edge``): a, b, factors (dict, ``None`` = unknown),
                     confidence, sources (candidate passes that proposed it).
    ``Group``        members, primary, confidence (weakest link to the primary),
                     member_confidence {member: confidence to the primary}.
    ``Decisions``    not_duplicate {frozenset pair}, removed {doc: former members},
                     primaries {doc}; honoured by grouping.
    ``AnalysisResult`` edges, groups, sketches {id: blob computed in this run}, stats.

Full analysis (:mod:`.pipeline`)
    ``analyse(docs, config=EngineConfig(), decisions=None, progress=None, checkpoint=None,
    resume=None) -> AnalysisResult``. Reuses ``doc.signature`` when
    ``signatures.signature_is_valid`` says so, computes the rest (store ``result.sketches``).
    ``progress(stage, done, total)`` with stage in signatures / candidates / scoring;
    ``checkpoint(state: AnalysisState)`` after every batch (``state.to_dict()`` is
    JSON-friendly, ``AnalysisState.from_dict`` restores it); pass it back as ``resume=``.
    Uses all cores (``EngineConfig.workers``) above ``parallel_min_docs`` documents.

Incremental analysis
    ``analyse_changed(changed, library=[IndexEntry(id, signature, checksum, archive_checksum,
    phash, dhash)], load=lambda ids: [DocFeatures...], config) -> AnalysisResult`` scores only
    pairs with a changed document; replace those documents' edges, then regroup.

Grouping (:mod:`.grouping`)
    ``build_groups(edges, docs={id: DocFeatures}, threshold, decisions=None,
    choose_primary=None) -> list[Group]``: complete linkage (no chaining through a middle
    document), primary by ``primary_quality(doc)`` unless chosen.

Scoring (:mod:`.scoring`)
    ``ScoringConfig(weights, enabled, threshold, ...)``, ``DEFAULT_WEIGHTS``, ``FACTORS``;
    ``confidence(factors, config=...) -> float`` re-scores stored factors with other weights or
    switched-off factors, without texts or signatures. ``score_factors`` / ``build_context``
    compute the factors of one pair.

Signatures (:mod:`.signatures`)
    ``SignatureParams(num_perm, seed, shingle_size, shingle_hash="tokmix"|"sha1",
    anchor_rate, normaliser_version, scheme="affine32")``; ``compute_sketches(texts, params)``;
    ``serialise_sketch`` / ``deserialise_sketch``; ``signature_is_valid(blob, params,
    text_digest=text_hash(text))``; ``to_lean_minhash(values, params)`` for datasketch.

Candidates (:mod:`.candidates`)
    ``CandidateConfig`` (LSH threshold below the decision threshold, backend "numpy" or
    "datasketch", anchor and perceptual-hash limits), ``LibraryIndex``, ``candidate_pairs``,
    ``hamming_neighbours``.

Text (:mod:`.normalise`, :mod:`.identifiers`)
    ``NORMALISER_VERSION``, ``normalise_text``, ``normalise_tokens``; ``extract_identifiers``,
    ``compare_identifiers`` (the discriminative check).

Evidence
    ``python -m duplicates.engine.quality`` (labelled corpus from :mod:`.corpus`, precision /
    recall / F1 per kind) and ``python -m duplicates.engine.benchmark`` (signatures/s, full and
    incremental analysis time, peak memory); ``manage.py dedupe_quality`` and
    ``manage.py dedupe_benchmark`` call the same functions.
"""

from .candidates import CandidateConfig
from .grouping import build_groups, primary_quality
from .pipeline import AnalysisState, EngineConfig, IndexEntry, analyse, analyse_changed
from .scoring import DEFAULT_WEIGHTS, FACTORS, ScoringConfig, confidence
from .signatures import SignatureParams, signature_is_valid, text_hash
from .types import AnalysisResult, Decisions, DocFeatures, Edge, Group, PairScore

__all__ = [
    "DEFAULT_WEIGHTS",
    "FACTORS",
    "AnalysisResult",
    "AnalysisState",
    "CandidateConfig",
    "Decisions",
    "DocFeatures",
    "Edge",
    "EngineConfig",
    "Group",
    "IndexEntry",
    "PairScore",
    "ScoringConfig",
    "SignatureParams",
    "analyse",
    "analyse_changed",
    "build_groups",
    "confidence",
    "primary_quality",
    "signature_is_valid",
    "text_hash",
]
