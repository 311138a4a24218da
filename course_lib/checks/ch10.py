"""Public checks of lab 10 (encoder–decoder and beam search); the references they compare with
are in :mod:`course_lib.references.ch10`, the encoder–decoder in :mod:`course_lib.models.seq2seq`.

Expected values come from torch and from maths, never from the NumPy code students write: one
step of beam search is ``torch.topk`` over the flattened candidates; greedy decoding is the
model's own torch ``greedy`` and its teacher-forced log-probabilities; a full beam search wide
enough to keep every hypothesis must find the best sequence found by scoring *all* sequences.
Hidden tests call the same checks with other seeds and, through a keyword, with cases of
another kind: other ids for the start and end tokens (the vocabulary permuted), a beam wider
than the candidates there are, logits too large for a naive ``exp``. The teacher-forced loss is
compared with ``torch.nn.functional.cross_entropy(..., ignore_index=PAD)`` and its gradient
with autograd.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import CheckFailed, call_on_copies, compare, public_check, unpack
from course_lib.models.tokens import BOS, EOS, PAD, teacher_forcing_inputs
from course_lib.references.ch10 import (
    exhaustive_best,
    pad_after_eos,
    reference_beam_step,
    reference_greedy_decode,
    reference_sequence_loss,
    sequence_log_probs,
)

# --- the beam step's usual mistakes, as inputs changed before the reference -------------------

def _beam_mistakes(log_probs, scores, lengths, finished, beam_size, alpha):
    """hint -> the output (parents, tokens, scores, lengths, finished) that a typical mistake
    produces on these inputs."""
    fin = np.asarray(finished, dtype=bool)
    out = {
        "the running scores are not added (a candidate's score must be the hypothesis's score "
        "plus the token's log-probability)":
            reference_beam_step(log_probs, np.where(fin, scores, 0.0), lengths, fin, beam_size,
                                alpha=alpha),
        "each hypothesis keeps only its own best next token (take the top-k over the "
        "flattened (B*K) candidates, not per row)":
            reference_beam_step(np.where(log_probs == log_probs.max(1, keepdims=True),
                                         log_probs, -np.inf), scores, lengths, fin, beam_size,
                                alpha=alpha),
    }
    if fin.any():
        out["finished hypotheses are extended like live ones (freeze them: they stay in the "
            "beam once, unchanged)"] = reference_beam_step(
                log_probs, scores, lengths, np.zeros_like(fin), beam_size, alpha=alpha)
        live = np.flatnonzero(~fin)
        p, *rest = reference_beam_step(log_probs[live], scores[live], lengths[live],
                                       fin[live], beam_size, alpha=alpha)
        out["finished hypotheses are dropped (they compete with the live ones)"] = \
            (live[p], *rest)
    if alpha:
        out["the length normalisation is left out (rank by score / length**alpha)"] = \
            reference_beam_step(log_probs, scores, lengths, fin, beam_size, alpha=0.0)
    return out


def _same(a, b):
    return len(a[0]) == len(b[0]) and all(
        np.allclose(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        for x, y in zip(a, b, strict=True))


def make_beam_inputs(rng, B, K, n_finished=0, step=3):
    """Random inputs of one beam step after ``step`` tokens: ``log_probs (B, K)`` (a
    log-softmax of random logits, the end token likely in some rows), running ``scores``,
    ``lengths`` and ``finished`` (the first ``n_finished`` rows ended earlier, so they are
    shorter)."""
    logits = rng.normal(0, 1.5, size=(B, K))
    logits[:, EOS] += rng.normal(0.5, 1.0, size=B)
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    lengths = np.full(B, step, dtype=np.int64)
    finished = np.zeros(B, dtype=bool)
    finished[:n_finished] = True
    lengths[:n_finished] = rng.integers(1, step, size=n_finished) if step > 1 else 1
    scores = -np.sort(rng.uniform(0.5, 1.5, size=B)) * lengths
    # finished hypotheses: shorter, with scores spread over the live ones' range, so that the
    # length normalisation changes which of them stay in the beam
    scores[:n_finished] = -rng.uniform(0.3, 3.0, size=n_finished) * step
    return log_probs, scores, lengths, finished


def _check_beam_case(fn, what, inputs, beam_size, alpha, mistakes=True, eos=EOS):
    log_probs, scores, lengths, finished = inputs
    out = call_on_copies(
        lambda *a: fn(*a, beam_size, eos, alpha),
        {"log_probs": log_probs, "scores": scores, "lengths": lengths, "finished": finished})
    parents, tokens, new_scores, new_lengths, new_finished = unpack(
        out, 5, "(parents, tokens, scores, lengths, finished)")
    expected = reference_beam_step(log_probs, scores, lengths, finished, beam_size, eos=eos,
                                   alpha=alpha)
    alts = _beam_mistakes(log_probs, scores, lengths, finished, beam_size, alpha) \
        if mistakes else {}
    M, B = len(expected[0]), len(scores)
    if np.ndim(new_scores) == 1 and len(new_scores) <= B < M:
        raise CheckFailed(f"{what}: you kept {len(new_scores)} hypotheses, expected {M}: each "
                          "hypothesis can give several candidates (take the top-k over the "
                          "flattened (B*K) candidates, not one per row)")
    actual = (parents, tokens, new_scores, new_lengths, new_finished)
    names = ("parents", "tokens", "scores", "lengths", "finished")
    for i in (2, 0, 1, 3, 4):  # the scores first: they show most mistakes
        note = " (best first, by the normalised score)" if i == 2 else ""
        compare(f"{what}: the new beam's {names[i]}{note}", actual[i],
                np.asarray(expected[i], dtype=np.float64), atol=1e-10,
                alternatives={hint: np.asarray(alt[i], dtype=np.float64)
                              for hint, alt in alts.items()})


def _distinct_case(rng, B, K, n_finished, beam_size, alpha, tries=500):
    """Draw inputs until every usual mistake that these inputs can show gives a different beam
    than the right answer (with finished hypotheses: the ones about finished hypotheses and
    the length normalisation), so a mistaken step cannot pass by luck."""
    for _ in range(tries):
        inputs = make_beam_inputs(rng, B, K, n_finished)
        expected = reference_beam_step(*inputs, beam_size, alpha=alpha)
        mistakes = _beam_mistakes(*inputs, beam_size, alpha)
        shown = [hint for hint in mistakes if ("finished" in hint or "normalisation" in hint)
                 == bool(n_finished)]
        if not any(_same(expected, mistakes[hint]) for hint in shown):
            return inputs
    raise RuntimeError("no distinguishing inputs found")  # pragma: no cover - see the tests


def tiny_model(seed, n_tgt=5, eos_bias=0.0):
    """A small random encoder–decoder without attention (float64), and sources for it."""
    import torch

    from course_lib import data
    from course_lib.models.seq2seq import make_seq2seq

    torch.manual_seed(seed)
    model = make_seq2seq(13, n_tgt, hidden=8, emb=6, attention=None).double()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.8)
        model.out.bias[EOS] += eos_bias
    src, _, _, _ = data.toy_translation(6, 2, 5, seed=seed)
    return model, src


# --- checks ------------------------------------------------------------------------------------

def _wide_case(rng):
    """A step whose beam is wider than its candidates: a finished hypothesis and live ones
    with impossible tokens (log-probability -inf), beam size above the number of finite
    candidates."""
    B, K = 3, 6
    log_probs, scores, lengths, finished = make_beam_inputs(rng, B, K, 1)
    for b in (1, 2):  # two or three tokens each live hypothesis cannot produce
        log_probs[b, rng.choice(np.arange(3, K), size=int(rng.integers(2, 4)), replace=False)] \
            = -np.inf
    n_finite = int(np.isfinite(log_probs[1:]).sum()) + 1
    return (log_probs, scores, lengths, finished), n_finite + int(rng.integers(2, 6))


def _other_eos_case(rng, tries=200):
    """A middle step whose end token is not 2: the columns of ``EOS`` and of another token
    ``e`` swapped, drawn until the new beam holds a candidate that ends with ``e`` or extends by
    token 2 (so a step that tests ``tokens == 2`` gets the finished flags wrong)."""
    for _ in range(tries):
        B, K = int(rng.integers(3, 6)), int(rng.integers(6, 10))
        log_probs, scores, lengths, finished = make_beam_inputs(rng, B, K, 1)
        e = int(rng.integers(3, K))
        log_probs[:, [EOS, e]] = log_probs[:, [e, EOS]]
        expected = reference_beam_step(log_probs, scores, lengths, finished, B, eos=e)
        if np.isin(expected[1], [e, EOS]).any():
            return (log_probs, scores, lengths, finished), B, e
    raise RuntimeError("no case found")  # pragma: no cover - see the tests


@public_check("beam_search_step")
def check_beam_search_step(fn, seed: int = 0, wide: bool = False, other_eos: bool = False):
    """``beam_search_step(log_probs, scores, lengths, finished, beam_size, eos, alpha)`` against
    ``torch.topk`` on a first step, a middle step and a step with finished hypotheses and
    length normalisation; then a full beam search with it, wide enough to keep every
    hypothesis, must find the best of all sequences. ``wide=True`` (instead): a step whose beam
    is wider than the finite candidates (impossible tokens are never kept, so fewer than
    ``beam_size`` come back); ``other_eos=True`` (instead): an end token other than 2."""
    from course_lib.models.seq2seq import DecoderStep, beam_search

    rng = np.random.default_rng(seed)
    if wide:
        inputs, beam = _wide_case(rng)
        _check_beam_case(fn, f"a beam of {beam} wider than the candidates", inputs, beam, 0.5,
                         mistakes=False)
        return
    if other_eos:
        inputs, beam, e = _other_eos_case(rng)
        _check_beam_case(fn, f"end token {e} (not 2)", inputs, beam, 0.0, mistakes=False, eos=e)
        return
    K = int(rng.integers(6, 10))
    first = (np.log(rng.dirichlet(np.ones(K)))[None], np.zeros(1), np.zeros(1, dtype=np.int64),
             np.zeros(1, dtype=bool))
    _check_beam_case(fn, f"first step (one empty hypothesis, K={K}, beam size 3)", first, 3,
                     0.0, mistakes=False)
    beam = int(rng.integers(3, 6))
    _check_beam_case(fn, f"a middle step (B={beam} live hypotheses, K={K}, alpha=0)",
                     _distinct_case(rng, beam, K, 0, beam, 0.0), beam, 0.0)
    alpha = float(np.round(rng.uniform(0.5, 1.0), 2))
    n_fin = int(rng.integers(2, beam))
    _check_beam_case(fn, f"a step with {n_fin} finished of {beam} hypotheses (alpha={alpha})",
                     _distinct_case(rng, beam, K, n_fin, beam, alpha), beam, alpha)
    model, src = tiny_model(seed)
    for a in (0.0, alpha):
        step = DecoderStep(model, src[:1])
        hyps, _ = beam_search(step, step.initial_state(), fn, 5**4, 4, alpha=a)
        tokens, score, norm = exhaustive_best(model, src[:1], 4, alpha=a)
        what = (f"full beam search with your step (vocabulary of 5, at most 4 tokens, beam "
                f"wide enough to keep every hypothesis, alpha={a})")
        if hyps[0][0] != tokens:
            raise CheckFailed(f"{what}: best sequence {hyps[0][0]}, but scoring every sequence "
                              f"finds {tokens} (normalised score {norm:.4f})")
        compare(f"{what}: the best score", hyps[0][1], score, atol=1e-8)


def _permuted_vocabulary(rng, K):
    """A permutation ``perm`` of the token ids ``0..K-1`` that keeps ``PAD`` (0) and moves
    ``BOS`` and ``EOS`` to other ids, and its inverse."""
    while True:
        perm = np.concatenate([[PAD], 1 + rng.permutation(K - 1)])
        if perm[BOS] != BOS and perm[EOS] != EOS:
            return perm, np.argsort(perm)


def _check_greedy_other_ids(fn, model, src, max_len, rng):
    """The decoder with its vocabulary renamed by a permutation: the step reads and writes the
    new ids, and the start and end tokens are passed as ``bos`` and ``eos``. The expected
    output is the reference's, renamed (the scores do not change)."""
    from course_lib.models.seq2seq import DecoderStep

    step = DecoderStep(model, src)
    perm, inv = _permuted_vocabulary(rng, model.out.out_features)

    def renamed(y_prev, state):
        log_probs, state = step(inv[np.asarray(y_prev)], state)
        return log_probs[:, inv], state

    tokens, scores = unpack(fn(renamed, step.initial_state(), max_len, int(perm[BOS]),
                               int(perm[EOS])), 2, "(tokens, scores)")
    exp_tokens, exp_scores = reference_greedy_decode(step, step.initial_state(), max_len)
    what = "start and end tokens with other ids (passed as bos and eos)"
    compare(f"{what}: tokens", tokens, perm[exp_tokens], atol=0)
    compare(f"{what}: scores", scores, exp_scores, atol=1e-8)


@public_check("greedy_decode")
def check_greedy_decode(fn, seed: int = 0, other_ids: bool = False):
    """``greedy_decode(step, state, max_len) -> (tokens, scores)`` against the torch model's own
    greedy decoding (argmax at every step), with padding after ``</s>``, and the scores against
    one teacher-forced torch pass. ``other_ids=True`` (instead): the vocabulary renamed, so
    that ``<s>`` and ``</s>`` have other ids than 1 and 2 (passed as ``bos`` and ``eos``)."""
    from course_lib.models.seq2seq import DecoderStep

    rng = np.random.default_rng(seed)
    max_len = 6
    if other_ids:  # a decoder likely to end early, so that the end token must be recognised
        for eos_bias in (2.0, 3.0, 4.0, 6.0):
            model, src = tiny_model(seed, n_tgt=7, eos_bias=eos_bias)
            if (model.greedy(src, max_len)[0][:, :-1] == EOS).any():
                break
        _check_greedy_other_ids(fn, model, src, max_len, rng)
        return
    model, src = tiny_model(seed, n_tgt=7, eos_bias=float(rng.uniform(0.8, 1.4)))
    step = DecoderStep(model, src)
    out = fn(step, step.initial_state(), max_len)
    tokens, scores = unpack(out, 2, "(tokens, scores)")
    exp_tokens, exp_scores = reference_greedy_decode(step, step.initial_state(), max_len)
    raw, _ = model.greedy(src, max_len)
    y, s, fed_bos = np.full(len(src), BOS), step.initial_state(), []
    for _ in range(max_len):  # the mistake of feeding <s> at every step
        lp, s = step(y, s)
        fed_bos.append(lp.argmax(1))
    N = len(src)
    compare(f"tokens (N={N} sentences, max_len={max_len})", tokens, exp_tokens, atol=0,
            alternatives={
                "the tokens after </s> are kept (a finished sentence continues with 0, PAD)": raw,
                "the decoder is fed <s> at every step instead of the token it just chose":
                    pad_after_eos(np.stack(fed_bos, 1)),
            })
    import torch

    with torch.no_grad():
        lp_raw = model(src, teacher_forcing_inputs(raw)).double().numpy()
        lp_exp = model(src, teacher_forcing_inputs(exp_tokens)).double().numpy()
    picked = np.take_along_axis(lp_exp, exp_tokens[..., None], axis=2)[..., 0]
    compare("scores (sum of the log-probabilities of the chosen tokens)", scores, exp_scores,
            atol=1e-8, alternatives={
                "the score keeps adding log-probabilities after </s>":
                    sequence_log_probs(lp_raw, raw, through_eos=False),
                "the log-probability of </s> is left out":
                    exp_scores - (picked * (exp_tokens == EOS)).sum(1),
                "probabilities are summed or multiplied instead of log-probabilities added":
                    np.exp(exp_scores),
            })


def _padded_targets(rng, N, T, K):
    """Targets ``(N, T)`` as the decoder learns them: tokens 3..K-1, then ``</s>``, then
    ``PAD``; one sentence fills every step, one is ``</s>`` alone, the others in between."""
    lengths = rng.integers(1, T + 1, size=N)
    lengths[:2] = T, 1
    rng.shuffle(lengths)
    targets = rng.integers(3, K, size=(N, T))
    steps = np.arange(T)[None]
    targets[steps == lengths[:, None] - 1] = EOS
    targets[steps >= lengths[:, None]] = PAD
    return targets


@public_check("sequence_loss")
def check_sequence_loss(fn, seed: int = 0, large: bool = False):
    """``sequence_loss(logits (N, T, K), targets (N, T)) -> (loss, dlogits)`` against
    ``torch.nn.functional.cross_entropy(..., ignore_index=PAD)`` (the mean over the real tokens)
    and its autograd gradient. ``large=True``: logits in the hundreds, where ``exp`` overflows
    unless the maximum is subtracted first."""
    import torch

    rng = np.random.default_rng(seed)
    N, T, K = int(rng.integers(3, 6)), int(rng.integers(3, 7)), int(rng.integers(5, 9))
    logits = rng.normal(0.0, 3.0 if large else 1.5, size=(N, T, K)) + (800.0 if large else 0.0)
    targets = _padded_targets(rng, N, T, K)
    out = call_on_copies(fn, {"logits": logits, "targets": targets})
    loss, dlogits = unpack(out, 2, "(loss, dlogits)")
    if loss is not None and np.ndim(loss) != 0:
        raise CheckFailed(f"return the loss as one number (the mean over the real tokens), got "
                          f"shape {np.shape(loss)}")
    exp_loss, exp_grad = reference_sequence_loss(logits, targets)
    real = targets != PAD
    what = "logits in the hundreds" if large else f"N={N}, T={T}, K={K}, {int(real.sum())} real " \
        "tokens"
    alternatives_loss, alternatives_grad = {}, {}
    if not large:  # the hints: torch's cross-entropy with other reductions, and maths on it
        s = torch.tensor(logits, requires_grad=True)
        flat, y = s.reshape(-1, K), torch.as_tensor(targets.reshape(-1))
        ce = torch.nn.functional.cross_entropy
        for hint, value in {
            "the padding is not masked (PAD = 0 is scored as a token)": ce(flat, y),
            "the mean is over all N*T positions, padding included (divide by the number of real "
            "tokens)": ce(flat, y, ignore_index=PAD, reduction="sum") / (N * T),
            "the loss is summed over the real tokens, not averaged":
                ce(flat, y, ignore_index=PAD, reduction="sum"),
            "the mean is over the N sentences (divide by the number of real tokens)":
                ce(flat, y, ignore_index=PAD, reduction="sum") / N,
        }.items():
            (grad,) = torch.autograd.grad(value, s)
            alternatives_loss[hint] = np.asarray(float(value.detach()))
            alternatives_grad[hint] = grad.numpy()
        softmax = torch.softmax(torch.tensor(logits), dim=-1).numpy()
        alternatives_grad["the gradient has the wrong sign"] = -exp_grad
        alternatives_grad["the one-hot of the target is not subtracted from the softmax"] = \
            softmax * real[..., None] / real.sum()
    compare(f"loss ({what})", loss, np.asarray(exp_loss), atol=1e-10,
            alternatives=alternatives_loss)
    compare(f"dlogits ({what})", dlogits, exp_grad, atol=1e-10, alternatives=alternatives_grad)
