"""References of lab 10: what its public checks compare with and what the lab falls back on when an
exercise is unfinished (``use_or_reference``). Built on one step of beam search with
``torch.topk``, greedy decoding by the torch model itself, sequence scores from teacher-forced
passes, an exhaustive search and the teacher-forced loss from ``cross_entropy`` and autograd; none of them spells out the from-scratch NumPy code the
exercises ask for.
"""

from __future__ import annotations

import itertools

import numpy as np

from course_lib.checks.bridge import t64
from course_lib.models.tokens import EOS, PAD, teacher_forcing_inputs


def reference_beam_step(log_probs, scores, lengths, finished, beam_size, eos=EOS, alpha=0.0):
    """One step of beam search, computed with ``torch.topk`` over all candidates at once.

    Candidates: every live hypothesis ``b`` extended by every token ``k`` (score
    ``scores[b] + log_probs[b, k]``, length ``lengths[b] + 1``, finished when ``k == eos``), and
    every finished hypothesis once, unchanged (token ``PAD``). They are ranked by the
    normalised score ``score / length**alpha`` and the best ``M = min(beam_size, number of
    candidates)`` are kept, best first.

    Args:
        log_probs: ``(B, K)`` log-probabilities of the next token (rows of finished hypotheses
            are ignored).
        scores, lengths, finished: ``(B,)`` running log-probability, number of tokens and
            whether the hypothesis has ended with ``eos``.

    Returns:
        ``parents, tokens, scores, lengths, finished``, each ``(M,)``.
    """
    import torch

    lp = t64(log_probs)
    sc = t64(scores)
    ln = t64(lengths)
    fin = torch.as_tensor(np.asarray(finished, dtype=bool))
    B, K = lp.shape
    extended = torch.where(fin[:, None], -torch.inf, sc[:, None] + lp).reshape(-1)
    cand_score = torch.cat([extended, torch.where(fin, sc, -torch.inf)])
    cand_len = torch.cat([(ln[:, None] + 1).expand(B, K).reshape(-1), ln])
    key = cand_score / cand_len.clamp(min=1) ** alpha
    M = min(int(beam_size), int(torch.isfinite(key).sum()))
    top = torch.topk(key, M).indices
    new = top < B * K
    parents = torch.where(new, top // K, top - B * K)
    tokens = torch.where(new, top % K, PAD)
    return (parents.numpy(), tokens.numpy(), cand_score[top].numpy(),
            cand_len[top].long().numpy(), (~new | (tokens == eos)).numpy())


def reference_greedy_decode(step, state, max_len):
    """Greedy decoding of a :class:`~course_lib.models.seq2seq.DecoderStep` with torch: the model's
    own ``greedy`` (argmax at every step), the tokens after the first ``</s>`` set to ``PAD``,
    and the score of each sentence from one teacher-forced pass. ``state`` must be the step's
    initial state. Returns ``tokens (N, max_len)`` and ``scores (N,)``."""
    import torch

    from course_lib.models.seq2seq import DecoderStep

    if not isinstance(step, DecoderStep):
        raise TypeError("the reference decodes the course's DecoderStep only")
    raw, _ = step.model.greedy(step.src, max_len)
    tokens = pad_after_eos(raw)
    with torch.no_grad():
        lp = step.model(step.src, teacher_forcing_inputs(tokens)).double().numpy()
    return tokens, sequence_log_probs(lp, tokens)


def pad_after_eos(tokens):
    """``tokens (N, T)`` with every token after the first ``</s>`` of its row set to ``PAD``."""
    tokens = np.array(tokens, dtype=np.int64)
    ended = np.cumsum(tokens == EOS, axis=1) - (tokens == EOS) > 0  # strictly after an EOS
    tokens[ended] = PAD
    return tokens


def sequence_log_probs(log_probs, tokens, through_eos=True):
    """Sum of ``log_probs[n, t, tokens[n, t]]`` over the steps up to and including the first
    ``</s>`` (all steps when ``through_eos`` is False). ``log_probs (N, T, K)``."""
    picked = np.take_along_axis(log_probs, np.asarray(tokens)[..., None], axis=2)[..., 0]
    if not through_eos:
        return picked.sum(1)
    upto = np.cumsum(np.asarray(tokens) == EOS, axis=1) - (np.asarray(tokens) == EOS) == 0
    return (picked * upto).sum(1)


def exhaustive_best(step_model, src, max_len, alpha=0.0):
    """The best sequence by trying them all: every sequence that ends with ``</s>`` within
    ``max_len`` tokens, or reaches ``max_len`` without it, scored by one teacher-forced pass of
    the torch model; returns ``(tokens list without </s>, score, normalised score)`` of the one
    with the largest ``score / length**alpha``. Only for tiny vocabularies and lengths."""
    import torch

    K = step_model.out.out_features
    words = [k for k in range(K) if k != EOS]
    best = ([], -np.inf, -np.inf)
    for m in range(1, max_len + 1):
        seqs = [[*p, EOS] for p in itertools.product(words, repeat=m - 1)]
        if m == max_len:  # and the sequences cut off at max_len without an end token
            seqs += [list(p) for p in itertools.product(words, repeat=m)]
        seqs = np.array(seqs, dtype=np.int64)
        srcs = np.repeat(np.asarray(src, dtype=np.int64), len(seqs), axis=0)
        with torch.no_grad():
            lp = step_model(srcs, teacher_forcing_inputs(seqs)).double().numpy()
        score = sequence_log_probs(lp, seqs, through_eos=False)
        norm = score / m**alpha
        i = int(np.argmax(norm))
        if norm[i] > best[2]:
            best = ([int(t) for t in seqs[i] if t != EOS], float(score[i]), float(norm[i]))
    return best


def reference_sequence_loss(logits, targets, pad=PAD):
    """The teacher-forced loss of ``targets (N, T)`` (``pad`` after each sentence's ``</s>``)
    under ``logits (N, T, K)``: the mean cross-entropy over the real tokens, from
    ``torch.nn.functional.cross_entropy(..., ignore_index=pad)``, and its gradient with respect
    to the logits by autograd. Returns ``(loss float, dlogits (N, T, K))``."""
    import torch

    s = torch.tensor(np.array(logits, dtype=np.float64), requires_grad=True)
    y = torch.as_tensor(np.array(targets, dtype=np.int64))
    loss = torch.nn.functional.cross_entropy(s.reshape(-1, s.shape[-1]), y.reshape(-1),
                                             ignore_index=int(pad))
    loss.backward()
    return float(loss.detach()), s.grad.numpy()
