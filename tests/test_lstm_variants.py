"""course_lib.models.lstm_variants against torch: the variant LSTM equals nn.LSTM when its
peepholes are zero and it is uncoupled, its gradients match autograd's numerical check, and a
seed ensemble computes and trains exactly as separate models do."""

import pytest
import torch
from torch import nn

from course_lib.models.lstm_variants import SeedEnsemble, VariantLSTM, set_forget_bias_


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_plain_variant_equals_nn_lstm():
    torch.manual_seed(0)
    ref = nn.LSTM(3, 5, batch_first=True)
    mine = VariantLSTM(3, 5, peephole=True)
    mine.load_state_dict({**ref.state_dict(), "weight_c_l0": torch.zeros(3, 5)})
    x = torch.randn(4, 7, 3)
    state = (torch.randn(1, 4, 5), torch.randn(1, 4, 5))
    out_ref, (h_ref, c_ref) = ref(x, state)
    out, (h, c) = mine(x, state)
    assert torch.allclose(out, out_ref, atol=1e-12, rtol=0)
    assert torch.allclose(c, c_ref, atol=1e-12, rtol=0)
    assert torch.allclose(h, h_ref, atol=1e-12, rtol=0)


def test_peephole_changes_the_gates_as_the_equations_say():
    torch.manual_seed(1)
    mine = VariantLSTM(2, 3, peephole=True)
    with torch.no_grad():
        mine.weight_c_l0.copy_(torch.randn(3, 3))
    x, c0 = torch.randn(4, 1, 2), torch.randn(1, 4, 3)
    _, (h, c) = mine(x, (torch.zeros(1, 4, 3), c0))
    # written out by hand from the cell's weights, h(0) = 0
    a = x[:, 0] @ mine.weight_ih_l0.T + mine.bias_ih_l0 + mine.bias_hh_l0
    a_i, a_f, a_g, a_o = a.chunk(4, -1)
    w_i, w_f, w_o = mine.weight_c_l0
    i, f = torch.sigmoid(a_i + w_i * c0[0]), torch.sigmoid(a_f + w_f * c0[0])
    c_new = f * c0[0] + i * torch.tanh(a_g)
    o = torch.sigmoid(a_o + w_o * c_new)
    assert torch.allclose(c[0], c_new, atol=1e-12)
    assert torch.allclose(h[0], o * torch.tanh(c_new), atol=1e-12)


def test_coupled_input_gate_is_one_minus_forget():
    torch.manual_seed(2)
    mine = VariantLSTM(2, 3, coupled=True)
    assert mine.weight_ih_l0.shape == (9, 2)
    x, c0 = torch.randn(4, 1, 2), torch.randn(4, 3)
    a = x[:, 0] @ mine.weight_ih_l0.T + mine.bias_ih_l0 + mine.bias_hh_l0
    _, c, (i, f, g, _) = mine.step(a, c0)
    assert torch.allclose(i, 1 - f, atol=0)
    a_f, a_g, _ = a.chunk(3, -1)
    assert torch.allclose(c, torch.sigmoid(a_f) * c0 + (1 - torch.sigmoid(a_f)) * torch.tanh(a_g))


@pytest.mark.parametrize("coupled", [False, True])
def test_gradients_pass_gradcheck(coupled):
    torch.manual_seed(3)
    mine = VariantLSTM(2, 3, peephole=True, coupled=coupled)
    with torch.no_grad():
        mine.weight_c_l0.copy_(torch.randn_like(mine.weight_c_l0))
    x = torch.randn(2, 4, 2)

    def run(w_c, w_hh, x):
        params = {**dict(mine.named_parameters()), "weight_c_l0": w_c, "weight_hh_l0": w_hh}
        return torch.func.functional_call(mine, params, (x,))[0]

    inputs = (mine.weight_c_l0.detach().clone().requires_grad_(),
              mine.weight_hh_l0.detach().clone().requires_grad_(), x.requires_grad_())
    assert torch.autograd.gradcheck(run, inputs, eps=1e-6, atol=1e-7)


def test_forget_bias():
    layer = set_forget_bias_(nn.LSTM(2, 4), 1.0)
    assert torch.equal(layer.bias_ih_l0[4:8], torch.ones(4))
    assert torch.equal(layer.bias_hh_l0[4:8], torch.zeros(4))
    coupled = set_forget_bias_(VariantLSTM(2, 4, coupled=True), 2.0)
    assert torch.equal(coupled.bias_ih_l0[:4], torch.full((4,), 2.0))
    with pytest.raises(TypeError, match="no forget gate"):
        set_forget_bias_(nn.GRU(2, 4), 1.0)


LAYERS = {
    "rnn": lambda d, h: nn.RNN(d, h, batch_first=True),
    "gru": lambda d, h: nn.GRU(d, h, batch_first=True),
    "lstm": lambda d, h: nn.LSTM(d, h, batch_first=True),
    "peephole": lambda d, h: VariantLSTM(d, h, peephole=True),
    "coupled": lambda d, h: VariantLSTM(d, h, coupled=True, peephole=True),
}


class _Separate(nn.Module):
    def __init__(self, make_layer, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.rnn, self.out = make_layer(2, 4), nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1]).squeeze(-1)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_ensemble_trains_as_separate_models(kind):
    """Three Adam steps with clipping: the ensemble's members equal three models trained apart
    (each with torch.nn.utils.clip_grad_norm_)."""
    seeds = [5, 6, 7]
    ens = SeedEnsemble(LAYERS[kind], 2, 4, seeds)
    separate = [_Separate(LAYERS[kind], s) for s in seeds]
    x, y = torch.rand(8, 6, 2), torch.rand(8)
    assert torch.allclose(ens(x), torch.stack([m(x) for m in separate], 1), atol=1e-12)
    opt = ens.clipped(torch.optim.Adam(ens.parameters(), lr=0.05), 0.1)
    opts = [torch.optim.Adam(m.parameters(), lr=0.05) for m in separate]
    for _ in range(3):
        opt.zero_grad()
        ens.loss(ens(x), y).backward()
        opt.step()
        for m, o in zip(separate, opts, strict=True):
            o.zero_grad()
            ((m(x) - y) ** 2).mean().backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 0.1)
            o.step()
    assert torch.allclose(ens(x), torch.stack([m(x) for m in separate], 1), atol=1e-10)
    for k, m in enumerate(separate):
        member = ens.member(k)
        for (name, p), (_, q) in zip(member.named_parameters(), m.named_parameters(), strict=True):
            assert torch.allclose(p, q, atol=1e-10), name
    off = ens._owner["rnn.weight_hh_l0"] < 0
    assert torch.count_nonzero(ens.model.rnn.weight_hh_l0[off]) == 0  # blocks stay separate


def test_ensemble_clip_reports_norms_per_member():
    ens = SeedEnsemble(LAYERS["gru"], 2, 4, [0, 1])
    x, y = torch.rand(8, 6, 2), torch.rand(8)
    ens.loss(ens(x), y).backward()
    separate = [_Separate(LAYERS["gru"], s) for s in (0, 1)]
    expected = []
    for m in separate:
        ((m(x) - y) ** 2).mean().backward()
        expected.append(float(torch.nn.utils.clip_grad_norm_(m.parameters(), 1e9)))
    assert ens.clip_(1e9) == pytest.approx(expected, rel=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="x: expected"):
        VariantLSTM(2, 3)(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="seeds"):
        SeedEnsemble(LAYERS["lstm"], 2, 3, [])
