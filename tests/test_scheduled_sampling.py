"""Scheduled sampling in course_lib.models.seq2seq (Bengio et al. 2015) and the edit distance
of chapter 10: p = 0 is teacher forcing, p = 1 feeds only the model's own tokens (greedy
decoding's inputs), the schedules follow their formulas, and the edit distance agrees with
hand-counted cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_lib import data
from course_lib.models import seq2seq


@pytest.fixture(params=[None, "dot"], ids=["no attention", "attention"])
def task(request):
    src, tgt, sv, tv, _ = data.number_words(48, max_digits=4, seed=5)
    torch.manual_seed(0)
    model = seq2seq.make_seq2seq(len(sv), len(tv), hidden=16, emb=8, attention=request.param)
    return model, src, tgt


def test_p0_reads_the_teacher_forcing_inputs_and_gives_its_log_probabilities(task):
    model, src, tgt = task
    tgt_in = seq2seq.teacher_forcing_inputs(tgt)
    lp, fed = seq2seq.scheduled_sampling_forward(model, src, tgt_in, 0.0,
                                                 torch.Generator().manual_seed(0))
    assert torch.equal(fed, torch.as_tensor(tgt_in))
    # the step-by-step decoder against nn.GRU run over the whole sequence at once
    torch.testing.assert_close(lp, model(src, tgt_in), rtol=1e-5, atol=1e-5)


def test_p1_reads_only_the_models_own_tokens_the_inputs_of_greedy_decoding(task):
    model, src, tgt = task
    tgt_in = seq2seq.teacher_forcing_inputs(tgt)
    lp, fed = seq2seq.scheduled_sampling_forward(model, src, tgt_in, 1.0)
    assert torch.all(fed[:, 0] == seq2seq.BOS)
    assert torch.equal(fed[:, 1:], lp[:, :-1].argmax(-1))
    greedy, _ = model.greedy(src, tgt.shape[1])  # decoded independently, without the coins
    assert np.array_equal(fed[:, 1:].numpy(), greedy[:, :-1])


def test_intermediate_p_mixes_the_two_at_about_rate_p():
    src, tgt, sv, tv, _ = data.number_words(400, max_digits=9, seed=6)
    torch.manual_seed(0)
    model = seq2seq.make_seq2seq(len(sv), len(tv), hidden=16, emb=8, attention=None)
    tgt_in = torch.as_tensor(seq2seq.teacher_forcing_inputs(tgt))
    lp, fed = seq2seq.scheduled_sampling_forward(model, src, tgt_in, 0.3,
                                                 torch.Generator().manual_seed(1))
    own = lp[:, :-1].argmax(-1)
    true = tgt_in[:, 1:]
    assert torch.all((fed[:, 1:] == own) | (fed[:, 1:] == true))
    differ = own != true  # where the coin is visible
    share_own = (fed[:, 1:] == own)[differ].float().mean().item()
    assert abs(share_own - 0.3) < 0.05  # binomial sd ~0.007 over these thousands of coins


def test_training_with_p0_is_teacher_forcing():
    src, tgt, sv, tv, _ = data.number_words(96, max_digits=4, seed=7)
    params = []
    for sampling in (None, lambda i: 0.0):
        torch.manual_seed(0)
        model = seq2seq.make_seq2seq(len(sv), len(tv), hidden=16, emb=8, attention=None)
        hist = seq2seq.train_seq2seq(model, src, tgt, epochs=2, batch_size=32, lr=1e-2,
                                     sampling=sampling)
        params.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
        if sampling is not None:
            assert hist["p"] == [0.0, 0.0]
    torch.testing.assert_close(params[0], params[1], rtol=1e-4, atol=1e-4)


def test_the_schedule_is_used_update_by_update():
    src, tgt, sv, tv, _ = data.number_words(100, max_digits=3, seed=8)
    seen = []

    def schedule(i):
        seen.append(i)
        return 0.5

    model = seq2seq.make_seq2seq(len(sv), len(tv), hidden=8, emb=4, attention=None)
    hist = seq2seq.train_seq2seq(model, src, tgt, epochs=2, batch_size=25, sampling=schedule)
    assert seen == list(range(8)) and hist["p"] == [0.5, 0.5] and len(hist["loss"]) == 2


def test_linear_schedule():
    p = seq2seq.sampling_schedule("linear", updates=10, p_max=0.5)
    assert [p(i) for i in (0, 5, 10, 20)] == [0.0, 0.25, 0.5, 0.5]
    assert seq2seq.sampling_schedule("linear", updates=4)(1) == 0.25


def test_inverse_sigmoid_schedule():
    k = 10.0
    p = seq2seq.sampling_schedule("inverse_sigmoid", k=k)
    assert p(0) == pytest.approx(1 / 11)  # 1 - k/(k + 1)
    mid = k * math.log(k)  # 23.03: e^(i/k) = k there, so the true token's probability is 1/2
    assert p(math.floor(mid)) < 0.5 < p(math.ceil(mid))
    assert p(23) == pytest.approx(1 - 10 / (10 + math.exp(2.3)))  # Bengio et al.'s eps_i
    assert p(1000) == pytest.approx(1.0, abs=1e-12)
    values = [p(i) for i in range(0, 200, 5)]
    assert all(a < b for a, b in zip(values[:-1], values[1:], strict=True))
    half = seq2seq.sampling_schedule("inverse_sigmoid", k=1, p_max=0.4)
    assert half(0) == pytest.approx(0.2)  # 0.4 * (1 - 1/2)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="kind"):
        seq2seq.sampling_schedule("cosine", updates=3)
    with pytest.raises(ValueError, match="updates"):
        seq2seq.sampling_schedule("linear")
    with pytest.raises(ValueError, match="k"):
        seq2seq.sampling_schedule("inverse_sigmoid", k=0.5)
    with pytest.raises(ValueError, match="p_max"):
        seq2seq.sampling_schedule("linear", updates=3, p_max=1.5)
    with pytest.raises(ValueError, match="update index"):
        seq2seq.sampling_schedule("linear", updates=3)(-1)
    src, tgt, sv, tv, _ = data.number_words(4, max_digits=2, seed=0)
    model = seq2seq.make_seq2seq(len(sv), len(tv), hidden=8, emb=4, attention=None)
    with pytest.raises(ValueError, match="probability"):
        seq2seq.scheduled_sampling_forward(model, src, seq2seq.teacher_forcing_inputs(tgt), 1.2)


def test_edit_distance_hand_counted():
    E = seq2seq.EOS
    # targets: digits (ids >= 3), </s>, padding; predictions are cut at their first </s>
    pred = np.array([[4, 5, 6, E, 9], [4, 6, E, 0, 0], [4, 4, 5, 6, E], [7, 8, 9, 9, 9],
                     [E, 5, 5, 5, 5], [5, 4, 6, E, 0]])
    tgt = np.array([[4, 5, 6, E, 0]] * 6)
    # same; one deletion; one insertion; 3 substitutions + 2 insertions; 3 deletions;
    # transposition = 2 substitutions
    assert seq2seq.edit_distance(pred, tgt).tolist() == [0, 1, 1, 5, 3, 2]


def test_edit_distance_kitten_sitting():
    letters = {c: i + 3 for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}
    a = [[letters[c] for c in "kitten"] + [seq2seq.EOS]]
    b = [[letters[c] for c in "sitting"] + [seq2seq.EOS]]
    assert seq2seq.edit_distance(a, b).tolist() == [3]  # the textbook example
    assert seq2seq.edit_distance(b, a).tolist() == [3]
