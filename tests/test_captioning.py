"""course_lib.models.captioning: the CNN encoder, the attention LSTM decoder and the captioning loss of
chapter 12. Expected values come from formulas written here in NumPy, from maths (the
penalty's gradient) and from the model's own step-by-step path."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_lib import data
from course_lib.models import captioning
from course_lib.models.seq2seq import BOS, PAD, teacher_forcing_inputs

VOCAB = data.SCENE_VOCAB


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: small models train several times faster than with threads fighting
    over busy cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scenes():
    images, captions, _ = data.shape_scenes(6, size=16, seed=4)
    return images, captions


def _model(seed=0, size=16, **kwargs):
    torch.manual_seed(seed)
    args = {"hidden": 8, "emb": 4, "attn_size": 5, "channels": 4, **kwargs}
    return captioning.make_captioner(len(VOCAB), size=size, **args).double()


# --- shapes and consistency ----------------------------------------------------------------------

def test_shapes_and_normalisation(scenes):
    images, captions = scenes
    model = _model()
    assert model.grid == (4, 4)
    with torch.no_grad():
        h = model.encode(images)
        lp, a = model(images, teacher_forcing_inputs(captions))
    assert h.shape == (6, 16, 8)
    assert lp.shape == (6, 9, len(VOCAB)) and a.shape == (6, 9, 16)
    assert torch.allclose(lp.exp().sum(-1), torch.ones(6, 9, dtype=lp.dtype), atol=1e-12)
    assert torch.all(a >= 0) and torch.allclose(a.sum(-1), torch.ones(6, 9, dtype=a.dtype))


def test_feature_grid_is_row_by_row(scenes):
    """Location l = i * G_w + j holds the CNN's vector at row i, column j (plus its position)."""
    images, _ = scenes
    model = _model(1)
    with torch.no_grad():
        h = model.encode(images).numpy()
        fmap = model.cnn(torch.as_tensor(images, dtype=torch.float64)).numpy()  # (N, H, 4, 4)
    pos = model.position.detach().numpy()
    for i in range(4):
        for j in range(4):
            assert np.allclose(h[:, i * 4 + j], fmap[:, :, i, j] + pos[i * 4 + j], atol=1e-12)


def test_teacher_forcing_equals_step_by_step_and_greedy(scenes):
    images, captions = scenes
    model = _model(2)
    tgt_in = torch.as_tensor(teacher_forcing_inputs(captions))
    with torch.no_grad():
        lp, a = model(images, tgt_in)
        h = model.encode(images)
        state = model.init_state(h)
        for t in range(tgt_in.shape[1]):
            lp_t, state, a_t = model.step(tgt_in[:, t], state, h)
            assert torch.allclose(lp_t, lp[:, t], atol=1e-12)
            assert torch.allclose(a_t, a[:, t], atol=1e-12)
    tokens, weights = model.greedy(images, 5)
    # feeding the greedy tokens back by teacher forcing reproduces the greedy weights and choices
    fed = np.concatenate([np.full((6, 1), BOS), tokens[:, :-1]], 1)
    with torch.no_grad():
        lp2, a2 = model(images, fed)
    assert np.array_equal(lp2.argmax(-1).numpy(), tokens)
    assert np.allclose(a2.numpy(), weights, atol=1e-12)


def test_attention_equals_the_numpy_formula(scenes):
    """Step 1's weights and context equal v^T tanh(W_s s + W_h h) -> softmax -> sum, in NumPy;
    the initial state is tanh of a linear map of the mean feature vector."""
    images, _ = scenes
    model = _model(3)
    with torch.no_grad():
        h = model.encode(images)
        s0, c0 = model.init_state(h)
        _, _, a = model.step(torch.full((6,), BOS), (s0, c0), h)
    h, s0 = h.numpy(), s0.numpy()
    P = {k: p.detach().numpy() for k, p in model.named_parameters()}
    assert np.allclose(s0, np.tanh(h.mean(1) @ P["init_s.weight"].T + P["init_s.bias"]))
    r = np.tanh((s0 @ P["attn.W_s.weight"].T)[:, None] + h @ P["attn.W_h.weight"].T) \
        @ P["attn.v.weight"][0]
    e = np.exp(r - r.max(1, keepdims=True))
    assert np.allclose(a.numpy(), e / e.sum(1, keepdims=True), atol=1e-12)


# --- the loss -----------------------------------------------------------------------------------

def _batch(seed=0, N=4, T=6, K=7, L=5):
    rng = np.random.default_rng(seed)
    lengths = np.array([T, 2, 4, 1])[:N]
    targets = rng.integers(1, K, size=(N, T))
    targets[np.arange(T)[None] >= lengths[:, None]] = PAD
    logits = torch.tensor(rng.normal(size=(N, T, K)), requires_grad=True)
    scores = torch.tensor(rng.normal(size=(N, T, L)), requires_grad=True)
    return logits, torch.as_tensor(targets), scores


def test_loss_equals_the_formula_and_ignores_padding():
    logits, targets, scores = _batch()
    lp, a = torch.log_softmax(logits, -1), torch.softmax(scores, -1)
    loss, ce, pen = captioning.caption_loss(lp, targets, a, lam=0.7)
    lp_np, a_np, y = lp.detach().numpy(), a.detach().numpy(), targets.numpy()
    real = y != PAD
    nll = [-lp_np[n, t, y[n, t]] for n in range(4) for t in range(6) if real[n, t]]
    cover = np.array([[sum(a_np[n, t, k] for t in range(6) if real[n, t]) for k in range(5)]
                      for n in range(4)])
    assert np.isclose(ce.item(), np.mean(nll), atol=1e-12)
    assert np.isclose(pen.item(), 0.7 * np.mean(((1 - cover) ** 2).sum(1)), atol=1e-12)
    assert np.isclose(loss.item(), ce.item() + pen.item(), atol=1e-12)
    # what sits at the padded steps does not matter
    noise = torch.where(torch.as_tensor(real)[..., None], 0.0, 5.0)
    loss2, _, _ = captioning.caption_loss(lp + noise, targets, a + noise, lam=0.7)
    assert np.isclose(loss2.item(), loss.item(), atol=1e-12)
    assert captioning.coverage_penalty(a, targets, 0.0).item() == 0.0


def test_penalty_gradient_from_calculus():
    """d/da[n,t,l] of lam * mean_n sum_l (1 - sum_t m a)^2 = -2 lam m[n,t] (1 - cover[n,l]) / N."""
    _, targets, scores = _batch(1)
    a = torch.softmax(scores, -1).detach().requires_grad_(True)
    pen = captioning.coverage_penalty(a, targets, 0.3)
    pen.backward()
    m = (targets != PAD).double().numpy()
    cover = (a.detach().numpy() * m[..., None]).sum(1)
    expected = -2 * 0.3 * m[..., None] * (1 - cover)[:, None, :] / 4
    assert np.allclose(a.grad.numpy(), expected, atol=1e-12)


def test_gradcheck_through_the_loss():
    logits, targets, scores = _batch(2)

    def f(lg, sc):
        return captioning.caption_loss(torch.log_softmax(lg, -1), targets,
                                       torch.softmax(sc, -1), lam=0.5)[0]

    assert torch.autograd.gradcheck(f, (logits, scores), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("bad", ["lam", "log_probs", "weights"])
def test_loss_rejects_bad_input(bad):
    logits, targets, scores = _batch()
    lp, a = torch.log_softmax(logits, -1), torch.softmax(scores, -1)
    args = {"log_probs": lp, "targets": targets, "weights": a, "lam": 0.1}
    args[bad] = {"lam": -1.0, "log_probs": lp[:, :3], "weights": a[:2]}[bad]
    with pytest.raises(ValueError, match=bad):
        captioning.caption_loss(**args)


# --- training, metrics, helpers ---------------------------------------------------------------------

def test_overfits_a_tiny_batch():
    images, captions, _ = data.shape_scenes(12, size=16, seed=5)
    torch.manual_seed(0)  # before the model: its initial weights must not depend on test order
    model = captioning.make_captioner(len(VOCAB), size=16, hidden=32, emb=16, attn_size=32,
                                      channels=16)
    # 120 passes: with 60 the loss ratio was 0.032-0.073 over seeds 0-2 and two numeric
    # configurations (one caption of five wrong for seed 1); with 120 it is 0.022-0.024 and
    # every caption is right, so the bounds below hold with a factor 2 on any machine.
    hist = captioning.train_captioner(model, images, captions, epochs=120, batch_size=12,
                                      lr=1e-2, lam=0.01)
    pred, _ = model.greedy(images, 9)
    assert hist["loss"][-1] < 0.05 * hist["loss"][0]
    assert captioning.caption_accuracy(pred, captions) == 1.0


def test_accuracies_and_words():
    w = {word: i for i, word in enumerate(VOCAB)}
    target = np.array([[w["a"], w["red"], w["circle"], 2, 0],
                       [w["a"], w["blue"], w["square"], 2, 0]])
    pred = np.array([[w["a"], w["red"], w["circle"], 2, 7, 7],
                     [w["a"], w["red"], w["square"], 2, 0, 0]])
    assert captioning.caption_accuracy(pred, target) == 0.5
    assert captioning.word_accuracy(pred, target) == 7 / 8
    assert captioning.words(pred[0], VOCAB) == ["a", "red", "circle"]
    with pytest.raises(ValueError, match="pred"):
        captioning.word_accuracy(pred[:, :3], target)


def test_bad_arguments(scenes):
    with pytest.raises(ValueError, match="size"):
        captioning.make_captioner(len(VOCAB), size=18)
    with pytest.raises(ValueError, match="hidden"):
        captioning.make_captioner(len(VOCAB), hidden=0)
    with pytest.raises(ValueError, match="images"):
        _model().encode(np.zeros((2, 3, 24, 24)))


def test_attention_on_image_marks_the_largest_weight(scenes):
    images, _ = scenes
    weights = np.full(16, 0.01)
    weights[6] = 0.85  # row 1, column 2 of a 4 x 4 grid
    fig, ax = plt.subplots()
    captioning.attention_on_image(ax, images[0], weights, (4, 4), title="red")
    (frame,) = ax.patches
    assert frame.get_xy() == (8.0, 4.0) and frame.get_width() == 4.0
    assert ax.get_title() == "red" and len(ax.images) == 2
    plt.close(fig)


def test_attention_on_image_carries_a_colour_bar_alone_or_shared(scenes):
    images, _ = scenes
    weights = np.full(16, 1 / 16)
    fig, ax = plt.subplots()
    glow = captioning.attention_on_image(ax, images[0], weights, (4, 4))
    (bar,) = [a for a in fig.axes if a is not ax]
    assert bar.get_ylabel() == "attention weight" and glow.get_clim() == (0, 0.3)
    plt.close(fig)
    fig, axes = plt.subplots(1, 3)
    for k, a in enumerate(axes):
        captioning.attention_on_image(a, images[0], weights, (4, 4),
                                      colorbar=axes if k == 2 else False)
    assert len(fig.axes) == 4
    plt.close(fig)


# --- the Show-and-Tell baseline (no attention) --------------------------------------------------

def test_show_and_tell_shapes_and_no_weights(scenes):
    images, captions = scenes
    model = _model(4, attention=False)
    assert isinstance(model, captioning.ShowAndTell) and model.grid == (4, 4)
    assert not any(name.startswith("attn") for name, _ in model.named_parameters())
    with torch.no_grad():
        lp, a = model(images, teacher_forcing_inputs(captions))
    assert lp.shape == (6, 9, len(VOCAB)) and a is None
    assert torch.allclose(lp.exp().sum(-1), torch.ones(6, 9, dtype=lp.dtype), atol=1e-12)
    tokens, weights = model.greedy(images, 5)
    assert tokens.shape == (6, 5) and weights is None
    fed = np.concatenate([np.full((6, 1), BOS), tokens[:, :-1]], 1)
    with torch.no_grad():
        assert np.array_equal(model(images, fed)[0].argmax(-1).numpy(), tokens)


def test_show_and_tell_equals_the_numpy_formula(scenes):
    """v = W_v vec(h) + b_v, s0 = tanh(W_s0 v + b), C0 likewise; then an LSTM on E y alone
    (torch's gate order i, f, g, o) and log softmax(V s + b_y)."""
    images, captions = scenes
    model = _model(5, attention=False)
    tgt_in = teacher_forcing_inputs(captions)
    with torch.no_grad():
        h = model.encode(images).numpy()
        lp = model(images, tgt_in)[0].numpy()
    P = {k: p.detach().numpy() for k, p in model.named_parameters()}

    def sig(x):
        return 1 / (1 + np.exp(-x))

    v = h.reshape(6, -1) @ P["image.weight"].T + P["image.bias"]
    s = np.tanh(v @ P["init_s.weight"].T + P["init_s.bias"])
    c = np.tanh(v @ P["init_c.weight"].T + P["init_c.bias"])
    for t in range(tgt_in.shape[1]):
        z = (P["emb.weight"][tgt_in[:, t]] @ P["cell.weight_ih"].T + P["cell.bias_ih"]
             + s @ P["cell.weight_hh"].T + P["cell.bias_hh"])
        i, f, g, o = np.split(z, 4, axis=1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        s = sig(o) * np.tanh(c)
        logits = s @ P["out.weight"].T + P["out.bias"]
        expected = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        assert np.allclose(lp[:, t], expected, atol=1e-10)


def test_show_and_tell_sees_the_image_only_through_its_first_state(scenes):
    """Two images with the same first state give the same caption: the gradient of step 3's
    output with respect to the image flows only through s0 and C0."""
    images, captions = scenes
    model = _model(6, attention=False)
    x = torch.as_tensor(images, dtype=torch.float64).requires_grad_(True)
    lp, _ = model(x, teacher_forcing_inputs(captions)[:, :3])
    lp[:, 2].sum().backward()
    grad_full = x.grad.clone()
    x.grad = None
    h = model.encode(x)
    state = model.init_state(h)
    other = torch.zeros_like(h)  # step ignores h: feeding zeros changes nothing
    for y in torch.as_tensor(teacher_forcing_inputs(captions)[:, :3]).T:
        out, state, a = model.step(y, state, other)
        assert a is None
    out.sum().backward()
    assert torch.allclose(x.grad, grad_full, atol=1e-12) and grad_full.abs().sum() > 0


def test_show_and_tell_gradcheck(scenes):
    images, captions = scenes
    model = _model(7, attention=False, hidden=3, emb=2, channels=2)
    tgt_in, tgt = teacher_forcing_inputs(captions)[:2, :4], captions[:2, :4]
    x = torch.as_tensor(images[:2], dtype=torch.float64)
    w = model.image.weight

    def f(weight):
        lp, a = torch.func.functional_call(model, {"image.weight": weight}, (x, tgt_in))
        return captioning.caption_loss(lp, tgt, a)[0]

    assert torch.autograd.gradcheck(f, (w.detach().clone().requires_grad_(True),),
                                    eps=1e-6, atol=1e-7)


def test_training_the_baseline_uses_the_shared_loop_and_refuses_a_penalty():
    images, captions, _ = data.shape_scenes(12, size=16, seed=5)
    torch.manual_seed(0)
    model = captioning.make_captioner(len(VOCAB), size=16, hidden=32, emb=16, channels=16,
                                      attention=False)
    with pytest.raises(ValueError, match="lam"):
        captioning.train_captioner(model, images, captions, epochs=1, lam=0.01)
    hist = captioning.train_captioner(model, images, captions, epochs=60, batch_size=12,
                                      lr=1e-2)
    assert hist["loss"][-1] < 0.2 * hist["loss"][0]
    with pytest.raises(ValueError, match="attention"):
        captioning.make_captioner(len(VOCAB), attention="no")


def test_coverage_sums_the_real_steps():
    _, targets, scores = _batch(3)
    a = torch.softmax(scores, -1).detach()
    cover = captioning.coverage(a, targets)
    m = (targets != PAD).numpy()
    expected = np.einsum("nt,ntl->nl", m, a.numpy())
    assert np.allclose(cover.numpy(), expected, atol=1e-12)
    assert np.allclose(cover.sum(1).numpy(), m.sum(1), atol=1e-12)
    assert isinstance(captioning.coverage(a.numpy(), targets.numpy()), np.ndarray)
