"""Checks of lab 10 (greedy decoding and beam search): the master lab's solutions pass, the
typical mistakes fail with their hint, stubs report "not implemented yet"; the references agree
with plain enumeration, and the beam-search bookkeeping of course_lib.models.seq2seq is right."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from labs import fails_with, solution_functions, stub

from course_lib.checks import ch10
from course_lib.models.seq2seq import (
    BOS,
    EOS,
    PAD,
    DecoderStep,
    beam_search,
    teacher_forcing_inputs,
)
from course_lib.references import ch10 as refs

SEEDS = (0, 1, 2, 3)
LAB = solution_functions("ch10")
greedy_decode, beam_search_step = LAB["greedy_decode"], LAB["beam_search_step"]
sequence_loss = LAB["sequence_loss"]


def enumerate_beam_step(log_probs, scores, lengths, finished, beam_size, eos, alpha):
    """One beam step written as the definition reads: list every candidate, sort them."""
    cands = []
    for b in range(len(scores)):
        if finished[b]:
            cands.append((b, PAD, scores[b], lengths[b], True))
            continue
        for k in range(log_probs.shape[1]):
            if np.isfinite(log_probs[b, k]):
                cands.append((b, k, scores[b] + log_probs[b, k], lengths[b] + 1, k == eos))
    cands.sort(key=lambda c: -c[2] / c[3] ** alpha)
    return tuple(np.array(col) for col in zip(*cands[:beam_size], strict=True))


# --- references against maths -------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_finished,alpha", [(0, 0.0), (2, 0.7), (3, 1.0)])
def test_reference_beam_step_equals_enumeration(seed, n_finished, alpha):
    rng = np.random.default_rng(seed)
    inputs = ch10.make_beam_inputs(rng, 5, 7, n_finished)
    inputs[0][1, 4] = -np.inf  # an impossible token is never kept
    for beam in (1, 3, 5, 40):
        ref = refs.reference_beam_step(*inputs, beam, EOS, alpha)
        by_hand = enumerate_beam_step(*inputs, beam, EOS, alpha)
        n_candidates = (5 - n_finished) * 7 - (n_finished <= 1) + n_finished
        assert len(ref[0]) == min(beam, n_candidates)
        for a, b in zip(ref, by_hand, strict=True):
            assert np.allclose(np.asarray(a, float), np.asarray(b, float), atol=1e-12)


def test_helpers_by_hand():
    tokens = np.array([[4, 2, 5, 2], [4, 4, 4, 4], [2, 3, 3, 3]])
    assert refs.pad_after_eos(tokens).tolist() == [[4, 2, 0, 0], [4, 4, 4, 4], [2, 0, 0, 0]]
    lp = np.log(np.full((3, 4, 6), 0.5))
    assert np.allclose(refs.sequence_log_probs(lp, tokens), np.log(0.5) * np.array([2, 4, 1]))
    assert np.allclose(refs.sequence_log_probs(lp, tokens, through_eos=False), 4 * np.log(0.5))


def test_exhaustive_best_is_the_argmax_of_all_sequences():
    """Against an even plainer enumeration: every sequence scored by teacher forcing, one by
    one (tiny sizes)."""
    model, src = ch10.tiny_model(5, n_tgt=4)
    best = (None, -np.inf)
    for m in range(1, 4):
        for p in itertools.product([0, 1, 3], repeat=m):
            for seq in ([*p[:-1], EOS], list(p)) if m == 3 else ([*p[:-1], EOS],):
                with torch.no_grad():
                    lp = model(src[:1], teacher_forcing_inputs(np.array([seq])))[0].numpy()
                score = sum(lp[t, k] for t, k in enumerate(seq))
                if score > best[1]:
                    best = ([k for k in seq if k != EOS], score)
    tokens, score, _ = refs.exhaustive_best(model, src[:1], 3)
    assert tokens == best[0] and np.isclose(score, best[1], atol=1e-10)


def test_distinguishing_inputs_exist_for_many_seeds():
    for seed in range(30):
        rng = np.random.default_rng(seed)
        ch10._distinct_case(rng, 4, 7, 2, 4, 0.8)
        ch10._distinct_case(rng, 3, 6, 0, 3, 0.0)


# --- the bookkeeping in course_lib.models.seq2seq --------------------------------------------------------

def test_decoder_step_equals_teacher_forcing_and_expands_one_source():
    model, src = ch10.tiny_model(1, n_tgt=6)
    tgt = np.array([[3, 4, 2], [5, 3, 2], [4, 4, 4], [3, 2, 0], [5, 5, 2], [3, 3, 3]])
    with torch.no_grad():
        lp = model(src, teacher_forcing_inputs(tgt)).numpy()
    step = DecoderStep(model, src)
    s, y = step.initial_state(), np.full(len(src), BOS)
    for t in range(tgt.shape[1]):
        out, s = step(y, s)
        assert out.dtype == np.float64 and np.allclose(out, lp[:, t], atol=1e-12)
        y = tgt[:, t]
    one = DecoderStep(model, src[2:3])
    out, s3 = one(np.array([BOS, BOS, BOS]), one.initial_state()[[0, 0, 0]])
    assert out.shape == (3, 6) and np.allclose(out, lp[2:3, 0], atol=1e-12)
    with pytest.raises(ValueError, match="rows"):
        step(np.array([BOS]), step.initial_state()[:1])


def test_beam_of_one_is_greedy_and_a_full_beam_is_exhaustive():
    model, src = ch10.tiny_model(3)
    step = DecoderStep(model, src)
    tokens, scores = refs.reference_greedy_decode(step, step.initial_state(), 4)
    for i in range(len(src)):
        one = DecoderStep(model, src[i:i + 1])
        hyps, hist = beam_search(one, one.initial_state(), refs.reference_beam_step, 1, 4)
        assert hyps[0][0] == [k for k in tokens[i] if k not in (EOS, PAD)] or \
            hyps[0][0] == list(tokens[i][:len(hyps[0][0])])
        assert np.isclose(hyps[0][1], scores[i], atol=1e-10) and len(hist) <= 4
        for alpha in (0.0, 0.8):
            hyps, _ = beam_search(one, one.initial_state(), refs.reference_beam_step, 5**4, 4,
                                  alpha)
            best = refs.exhaustive_best(model, src[i:i + 1], 4, alpha)
            assert hyps[0][0] == best[0] and np.isclose(hyps[0][2], best[2], atol=1e-10)


def test_beam_search_history_and_arguments():
    model, src = ch10.tiny_model(4)
    one = DecoderStep(model, src[:1])
    hyps, hist = beam_search(one, one.initial_state(), refs.reference_beam_step, 3, 5, 0.5)
    assert len(hyps) == len(hist[-1]["scores"]) <= 3
    assert [h[2] for h in hyps] == sorted([h[2] for h in hyps], reverse=True)
    assert all(step["tokens"].shape[1] == t + 1 for t, step in enumerate(hist))
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(one, one.initial_state(), refs.reference_beam_step, 0, 5)
    with pytest.raises(TypeError):
        refs.reference_greedy_decode(lambda y, s: (None, s), None, 3)


# --- checks: the master lab's solutions pass, stubs are reported ------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_solutions_pass(seed):
    assert ch10.check_greedy_decode(greedy_decode, seed=seed, quiet=True)
    assert ch10.check_beam_search_step(beam_search_step, seed=seed, quiet=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_solutions_pass_the_other_kinds_of_case(seed):
    assert ch10.check_greedy_decode(greedy_decode, seed=seed, other_ids=True, quiet=True)
    assert ch10.check_beam_search_step(beam_search_step, seed=seed, wide=True, quiet=True)
    assert ch10.check_beam_search_step(beam_search_step, seed=seed, other_eos=True, quiet=True)
    assert ch10.check_sequence_loss(sequence_loss, seed=seed, quiet=True)
    assert ch10.check_sequence_loss(sequence_loss, seed=seed, large=True, quiet=True)


@pytest.mark.parametrize("check", [ch10.check_greedy_decode, ch10.check_beam_search_step,
                                   ch10.check_sequence_loss])
def test_stubs_report_not_implemented(check, capsys):
    res = check(stub, quiet=True)
    assert not res and not res.implemented
    assert check(stub) is None
    assert "not implemented yet" in capsys.readouterr().out


# --- checks: the usual mistakes fail with their hint ------------------------------------------------

def test_beam_step_mistakes():
    def no_running_score(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        return beam_search_step(lp, np.where(fin, sc, 0.0), ln, fin, beam, eos, alpha)

    fails_with(ch10.check_beam_search_step, no_running_score, "running scores are not added")

    def per_row(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        best = np.where(lp == lp.max(1, keepdims=True), lp, -np.inf)
        return beam_search_step(best, sc, ln, fin, beam, eos, alpha)

    fails_with(ch10.check_beam_search_step, per_row, "flattened")

    def not_frozen(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        return beam_search_step(lp, sc, ln, np.zeros_like(fin), beam, eos, alpha)

    fails_with(ch10.check_beam_search_step, not_frozen, "extended like live ones")

    def dropped(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        live = np.flatnonzero(~fin)
        p, *rest = beam_search_step(lp[live], sc[live], ln[live], fin[live], beam, eos, alpha)
        return (live[p], *rest)

    fails_with(ch10.check_beam_search_step, dropped, "finished hypotheses are dropped")

    def unnormalised(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        return beam_search_step(lp, sc, ln, fin, beam, eos, 0.0)

    fails_with(ch10.check_beam_search_step, unnormalised, "length normalisation is left out")

    def worst_first(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        return tuple(a[::-1] for a in beam_search_step(lp, sc, ln, fin, beam, eos, alpha))

    fails_with(ch10.check_beam_search_step, worst_first, "best first")

    def in_place(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        sc += 0.0
        sc[0] = 1.0
        return beam_search_step(lp, sc, ln, fin, beam, eos, alpha)

    fails_with(ch10.check_beam_search_step, in_place, "changed its input scores")
    fails_with(ch10.check_beam_search_step, lambda *a, **k: beam_search_step(*a, **k)[:3],
                "return a tuple (parents, tokens, scores, lengths, finished)")


def test_greedy_mistakes():
    def no_padding(step, state, max_len, bos=BOS, eos=EOS):
        N = len(state)
        y, tokens, scores = np.full(N, bos), [], np.zeros(N)
        done = np.zeros(N, dtype=bool)
        for _ in range(max_len):
            lp, state = step(y, state)
            y = lp.argmax(1)
            scores += np.where(done, 0.0, lp[np.arange(N), y])
            done |= y == eos
            tokens.append(y)
        return np.stack(tokens, 1), scores

    fails_with(ch10.check_greedy_decode, no_padding, "tokens after </s> are kept")

    def fed_bos(step, state, max_len, bos=BOS, eos=EOS):
        tokens, _ = greedy_decode(lambda y, s: step(np.full(len(y), bos), s), state, max_len)
        return tokens, np.zeros(len(tokens))

    fails_with(ch10.check_greedy_decode, fed_bos, "fed <s> at every step")

    def never_stops(step, state, max_len, bos=BOS, eos=EOS):
        N = len(state)
        y, scores = np.full(N, bos), np.zeros(N)
        s = state
        for _ in range(max_len):
            lp, s = step(y, s)
            y = lp.argmax(1)
            scores += lp[np.arange(N), y]
        return greedy_decode(step, state, max_len)[0], scores

    fails_with(ch10.check_greedy_decode, never_stops, "keeps adding log-probabilities")

    def without_eos(step, state, max_len, bos=BOS, eos=EOS):
        tokens, scores = greedy_decode(step, state, max_len)
        eos_lp = np.zeros(len(tokens))
        y, s = np.full(len(tokens), bos), state
        for t in range(max_len):
            lp, s = step(y, s)
            eos_lp += np.where(tokens[:, t] == eos, lp[:, eos], 0.0)
            y = tokens[:, t]
        return tokens, scores - eos_lp

    fails_with(ch10.check_greedy_decode, without_eos, "log-probability of </s> is left out")

    def probabilities(step, state, max_len, bos=BOS, eos=EOS):
        tokens, scores = greedy_decode(step, state, max_len)
        return tokens, np.exp(scores)

    fails_with(ch10.check_greedy_decode, probabilities, "instead of log-probabilities")
    fails_with(ch10.check_greedy_decode, lambda *a: greedy_decode(*a)[0],
                "return a tuple (tokens, scores)")


def test_student_exceptions_do_not_escape():
    def broken(*args):
        return {}["missing"]

    for check in (ch10.check_greedy_decode, ch10.check_beam_search_step,
                  ch10.check_sequence_loss):
        res = check(broken, quiet=True)
        assert not res and "KeyError" in res.messages[0]


# --- the cases of another kind and the teacher-forced loss ----------------------------------------

def test_reference_sequence_loss_against_numerical_differentiation():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, size=(3, 4, 5))
    targets = ch10._padded_targets(rng, 3, 4, 5)
    loss, grad = refs.reference_sequence_loss(logits, targets)
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    real = targets != PAD
    by_hand = -np.take_along_axis(lp, targets[..., None], -1)[..., 0][real].mean()
    assert np.isclose(loss, by_hand, atol=1e-12)
    eps, numeric = 1e-6, np.zeros_like(logits)
    for i in np.ndindex(logits.shape):
        up, down = logits.copy(), logits.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (refs.reference_sequence_loss(up, targets)[0] -
                      refs.reference_sequence_loss(down, targets)[0]) / (2 * eps)
    assert np.allclose(grad, numeric, atol=1e-8)
    assert np.all(grad[~real] == 0)


def test_padded_targets_end_with_eos_then_padding():
    rng = np.random.default_rng(1)
    targets = ch10._padded_targets(rng, 5, 6, 7)
    lengths = (targets != PAD).sum(1)
    assert {1, 6} <= set(lengths.tolist())
    for row, n in zip(targets, lengths, strict=True):
        assert row[n - 1] == EOS and (row[n:] == PAD).all() and (row[: n - 1] > EOS).all()


def test_sequence_loss_mistakes():
    import torch

    def unmasked(logits, targets, pad=0):
        return sequence_loss(logits, targets, pad=-1)

    fails_with(ch10.check_sequence_loss, unmasked, "padding is not masked")

    def over_all(logits, targets, pad=0):
        loss, grad = sequence_loss(logits, targets)
        scale = (targets != pad).sum() / targets.size
        return loss * scale, grad * scale

    fails_with(ch10.check_sequence_loss, over_all, "all N*T positions")

    def summed(logits, targets, pad=0):
        loss, grad = sequence_loss(logits, targets)
        count = (targets != pad).sum()
        return loss * count, grad * count

    fails_with(ch10.check_sequence_loss, summed, "summed")

    def per_sentence(logits, targets, pad=0):
        loss, grad = sequence_loss(logits, targets)
        scale = (targets != pad).sum() / len(targets)
        return loss * scale, grad * scale

    fails_with(ch10.check_sequence_loss, per_sentence, "over the N sentences")

    def wrong_sign(logits, targets, pad=0):
        loss, grad = sequence_loss(logits, targets)
        return loss, -grad

    fails_with(ch10.check_sequence_loss, wrong_sign, "wrong sign")

    def no_one_hot(logits, targets, pad=0):
        loss, _ = sequence_loss(logits, targets)
        real = targets != pad
        p = torch.softmax(torch.tensor(logits), -1).numpy()
        return loss, p * real[..., None] / real.sum()

    fails_with(ch10.check_sequence_loss, no_one_hot, "one-hot")
    fails_with(ch10.check_sequence_loss, lambda s, t: sequence_loss(s, t)[0], "(loss, dlogits)")
    fails_with(ch10.check_sequence_loss,
               lambda s, t: (np.full(len(s), sequence_loss(s, t)[0]), sequence_loss(s, t)[1]),
               "one number")


def test_the_wide_case_has_fewer_finite_candidates_than_the_beam():
    for seed in range(20):
        (inputs, beam) = ch10._wide_case(np.random.default_rng(seed))
        out = refs.reference_beam_step(*inputs, beam)
        assert len(out[0]) < beam and np.isfinite(out[2]).all()


def test_the_other_eos_case_keeps_a_candidate_that_shows_the_end_token():
    for seed in range(20):
        inputs, beam, e = ch10._other_eos_case(np.random.default_rng(seed))
        out = refs.reference_beam_step(*inputs, beam, eos=e)
        assert e not in (BOS, EOS, PAD) and np.isin(out[1], [e, EOS]).any()


def test_renamed_vocabulary_keeps_padding_and_moves_the_special_tokens():
    for seed in range(20):
        perm, inv = ch10._permuted_vocabulary(np.random.default_rng(seed), 7)
        assert perm[PAD] == PAD and perm[BOS] != BOS and perm[EOS] != EOS
        assert sorted(perm.tolist()) == list(range(7)) and (perm[inv] == np.arange(7)).all()


def test_hard_coded_token_ids_fail_only_the_hidden_cases():
    def eos_two(step, state, max_len, bos=BOS, eos=EOS):
        return greedy_decode(step, state, max_len, bos, 2)

    def bos_one(step, state, max_len, bos=BOS, eos=EOS):
        return greedy_decode(step, state, max_len, 1, eos)

    for fn in (eos_two, bos_one):
        assert ch10.check_greedy_decode(fn, quiet=True)
        fails_with(lambda f, quiet: ch10.check_greedy_decode(f, other_ids=True, quiet=quiet), fn,
                   "other ids")

    def beam_eos_two(lp, sc, ln, fin, beam, eos=EOS, alpha=0.0):
        return beam_search_step(lp, sc, ln, fin, beam, 2, alpha)

    assert ch10.check_beam_search_step(beam_eos_two, quiet=True)
    fails_with(lambda f, quiet: ch10.check_beam_search_step(f, other_eos=True, quiet=quiet),
               beam_eos_two, "not 2")
