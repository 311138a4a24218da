"""course_lib.train: mini-batches, the training loop, the torch step and the progress bar."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import train

# ---------------------------------------------------------------------------------- minibatches


def test_minibatches_cover_every_index_once_per_epoch_in_order_without_rng():
    idx = np.arange(10)
    batches = list(train.minibatches((idx,), 4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), idx)


def test_minibatches_shuffle_with_rng_cover_every_index_and_keep_arrays_aligned():
    n = 23
    X = np.arange(n * 2).reshape(n, 2)  # row i is (2i, 2i + 1)
    y = np.arange(n)
    batches = list(train.minibatches((X, y), 5, rng=np.random.default_rng(0)))
    assert [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(n))  # every index exactly once
    assert not np.array_equal(seen, y)  # shuffled
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay with their labels


def test_minibatches_shuffle_is_reproducible_and_differs_between_epochs():
    y = np.arange(50)

    def epoch_order(rng):
        return np.concatenate([b[0] for b in train.minibatches((y,), 8, rng=rng)])

    a = epoch_order(np.random.default_rng(1))
    b = epoch_order(np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(1)
    first, second = epoch_order(rng), epoch_order(rng)
    assert not np.array_equal(first, second)
    assert sorted(second.tolist()) == list(range(50))


def test_minibatches_index_torch_tensors():
    Xt = torch.arange(12.0).reshape(6, 2)
    yt = torch.arange(6)
    batches = list(train.minibatches((Xt, yt), 4, rng=np.random.default_rng(0)))
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == list(range(6))
    for xb, yb in batches:
        assert torch.equal(xb[:, 0], 2.0 * yb)


def test_minibatches_reject_mismatched_lengths_at_the_call():
    with pytest.raises(ValueError, match=r"^arrays\[1\]: expected first axis N=5, got 4"):
        train.minibatches((np.zeros(5), np.zeros(4)), 2)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, None])
def test_minibatches_reject_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=r"^batch_size:"):
        train.minibatches((np.zeros(5),), batch_size)


def test_minibatches_reject_no_arrays():
    with pytest.raises(ValueError, match=r"^arrays:"):
        train.minibatches((), 2)


# ---------------------------------------------------------------------------------- fit


def test_fit_history_has_one_mean_loss_per_epoch_and_evaluate_values():
    evaluated = []

    def batches(epoch):
        return [float(epoch), float(epoch) + 1.0, float(epoch) + 2.0]  # mean: epoch + 1

    def evaluate():
        evaluated.append(1)
        return {"accuracy": 0.5 * len(evaluated)}

    history = train.fit(lambda batch: batch, batches, epochs=4, evaluate=evaluate,
                        show_progress=False)
    assert history["loss"] == [1.0, 2.0, 3.0, 4.0]
    assert history["accuracy"] == [0.5, 1.0, 1.5, 2.0]
    assert len(evaluated) == 4


def test_fit_calls_step_on_every_batch_of_every_epoch():
    seen = []
    train.fit(lambda batch: seen.append(batch) or 0.0, lambda e: [(e, 0), (e, 1)], epochs=3,
              show_progress=False)
    assert seen == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_fit_raises_floating_point_error_with_the_history_attached(bad):
    def step(batch):
        epoch, i = batch
        return bad if (epoch, i) == (2, 1) else 1.0

    with pytest.raises(FloatingPointError, match="epoch 3") as info:
        train.fit(step, lambda e: [(e, 0), (e, 1)], epochs=5,
                  evaluate=lambda: {"acc": 0.25}, show_progress=False)
    assert info.value.history == {"loss": [1.0, 1.0], "acc": [0.25, 0.25]}


def test_fit_rejects_an_epoch_without_batches():
    with pytest.raises(ValueError, match=r"^batches: epoch 1 produced no batch"):
        train.fit(lambda b: 0.0, lambda e: [], epochs=2, show_progress=False)


@pytest.mark.parametrize("epochs", [0, -1, 1.5])
def test_fit_rejects_bad_epochs(epochs):
    with pytest.raises(ValueError, match=r"^epochs:"):
        train.fit(lambda b: 0.0, lambda e: [0], epochs=epochs, show_progress=False)


def test_fit_with_progress_bar_outside_a_notebook_writes_to_stderr(capsys):
    history = train.fit(lambda b: 0.5, lambda e: [0, 1], epochs=3, desc="demo")
    out, err = capsys.readouterr()
    assert history["loss"] == [0.5, 0.5, 0.5]
    assert out == ""
    assert "demo" in err and "3/3" in err and "loss=0.5000" in err


def test_fit_without_progress_prints_nothing(capsys):
    train.fit(lambda b: 0.5, lambda e: [0], epochs=2, show_progress=False)
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------------------------------- torch_step


def _regression_problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(64, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=64)
    return X, y


def test_torch_step_reaches_the_least_squares_solution():
    X, y = _regression_problem()
    # independent expected value: the closed-form least-squares fit, with an intercept column
    A = np.hstack([X, np.ones((len(X), 1))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    best_mse = float(np.mean((A @ coef - y) ** 2))

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    step = train.torch_step(model, torch.nn.MSELoss(), optimizer)
    Xt, yt = torch.tensor(X), torch.tensor(y).unsqueeze(1)
    history = train.fit(step, lambda epoch: [(Xt, yt)], epochs=300, show_progress=False)

    assert len(history["loss"]) == 300
    assert history["loss"][0] > 10 * best_mse  # it did have to learn
    assert history["loss"][-1] == pytest.approx(best_mse, rel=1e-8)
    np.testing.assert_allclose(model.weight.detach().numpy()[0], coef[:3], atol=1e-6)
    np.testing.assert_allclose(model.bias.detach().numpy(), coef[3:], atol=1e-6)


def test_torch_step_with_minibatches_gets_close_to_least_squares():
    X, y = _regression_problem(1)
    A = np.hstack([X, np.ones((len(X), 1))])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    step = train.torch_step(model, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.05))
    Xt, yt = torch.tensor(X), torch.tensor(y).unsqueeze(1)
    rng = np.random.default_rng(0)
    train.fit(step, lambda e: train.minibatches((Xt, yt), 16, rng), epochs=100,
              show_progress=False)
    # SGD noise keeps it a little off the optimum: the noise in y is 0.1
    np.testing.assert_allclose(model.weight.detach().numpy()[0], coef[:3], atol=2e-2)


def test_torch_step_clips_the_gradient_norm_and_sets_train_mode():
    X, y = _regression_problem(2)
    Xt, yt = torch.tensor(X), torch.tensor(y).unsqueeze(1)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1).double()
    before = [p.detach().clone() for p in model.parameters()]

    # the unclipped gradient, by torch autograd on a copy
    ref = torch.nn.Linear(3, 1).double()
    ref.load_state_dict(model.state_dict())
    torch.nn.MSELoss()(ref(Xt), yt).backward()
    g = torch.cat([p.grad.flatten() for p in ref.parameters()])
    clip = 0.1
    assert g.norm() > clip

    model.eval()
    step = train.torch_step(model, torch.nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=1.0),
                            clip=clip)
    loss = step((Xt, yt))
    assert model.training
    assert loss == pytest.approx(torch.nn.MSELoss()(ref(Xt), yt).item(), rel=1e-12)
    delta = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters(),
                                                                     strict=True)])
    # SGD with lr 1 moves by the clipped gradient: g * clip / |g|
    torch.testing.assert_close(delta, g * clip / g.norm(), rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------------------------- progress


def test_progress_outside_a_notebook_is_a_text_bar_on_stderr(capsys):
    from tqdm.notebook import tqdm as notebook_tqdm

    assert not train._in_notebook()
    bar = train.progress(range(4), total=4, desc="items")
    assert not isinstance(bar, notebook_tqdm)
    assert list(bar) == [0, 1, 2, 3]
    out, err = capsys.readouterr()
    assert out == "" and "items" in err and "4/4" in err


def test_progress_inside_a_notebook_uses_the_notebook_widget(monkeypatch):
    import IPython
    from tqdm.notebook import tqdm as notebook_tqdm

    class ZMQInteractiveShell:  # what get_ipython() returns in a Jupyter kernel
        pass

    monkeypatch.setattr(IPython, "get_ipython", lambda: ZMQInteractiveShell())
    assert train._in_notebook()
    bar = train.progress(range(3), total=3, desc="nb")
    try:
        assert isinstance(bar, notebook_tqdm)
        assert list(bar) == [0, 1, 2]
    finally:
        bar.close()
