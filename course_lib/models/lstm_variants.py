"""LSTM variants and seed ensembles for chapter 7.

- :class:`VariantLSTM`: a one-layer LSTM with optional peephole connections (Gers & Schmidhuber
  2000) and an optional coupled input-forget gate (``i = 1 - f``, Greff et al. 2017), with
  ``torch.nn.LSTM``'s parameter names, gate order and batch-first layout. With the peepholes at
  zero and no coupling it computes what ``torch.nn.LSTM`` computes.
- :func:`set_forget_bias_`: the forget-gate bias initialisation of Gers et al. (2000) and
  Jozefowicz et al. (2015).
- :class:`SeedEnsemble`: several independently initialised last-step regressors (a recurrent
  layer of width H read out linearly at the last step) trained as one layer of width M * H whose
  weights are kept block-diagonal, so that M seeds cost about one training run. Each member's
  gradient and Adam update are its own, gradients are clipped per member, and
  :meth:`SeedEnsemble.member` returns member k as a separate model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_lib import validate

__all__ = ["VariantLSTM", "set_forget_bias_", "SeedEnsemble", "gates_of"]


def gates_of(layer: nn.Module) -> str:
    """The gate blocks of a recurrent layer's stacked weights, in order (``"ifgo"`` for
    ``nn.LSTM``, ``"fgo"`` for a coupled :class:`VariantLSTM`, ``"rzn"`` for ``nn.GRU``,
    ``"h"`` for ``nn.RNN``)."""
    if isinstance(layer, VariantLSTM):
        return "fgo" if layer.coupled else "ifgo"
    for kind, gates in ((nn.LSTM, "ifgo"), (nn.GRU, "rzn"), (nn.RNN, "h")):
        if isinstance(layer, kind):
            return gates
    raise TypeError(f"layer: expected nn.RNN, nn.LSTM, nn.GRU or VariantLSTM, got {type(layer)}")


class VariantLSTM(nn.Module):
    """One LSTM layer, batch first, with optional peepholes and coupled input and forget gates.

    Gates (rows of ``weight_ih_l0``/``weight_hh_l0``/biases, blocks of ``hidden_size``):
    ``i, f, g, o`` as in ``torch.nn.LSTM``; with ``coupled=True`` the input gate has no weights
    (blocks ``f, g, o``) and ``i = 1 - f``. Peepholes: ``weight_c_l0`` of shape
    ``(3, H)`` (rows ``i, f, o``; ``(2, H)``, rows ``f, o``, when coupled), element-wise weights
    from the old cell to the input and forget gates and from the new cell to the output gate.
    They start at zero, so a peephole LSTM starts as the plain LSTM of the same seed. The other
    weights are drawn as ``torch.nn.LSTM`` draws them, uniform in ``(-1/sqrt(H), 1/sqrt(H))``.
    """

    def __init__(self, input_size: int, hidden_size: int, peephole: bool = False,
                 coupled: bool = False, batch_first: bool = True):
        super().__init__()
        input_size = validate.positive("input_size", input_size, integer=True)
        hidden_size = validate.positive("hidden_size", hidden_size, integer=True)
        if not batch_first:
            raise ValueError("batch_first: VariantLSTM reads (N, T, D) only; pass batch_first=True")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.peephole, self.coupled = bool(peephole), bool(coupled)
        G = 3 if self.coupled else 4
        self.weight_ih_l0 = nn.Parameter(torch.empty(G * hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(G * hidden_size, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(G * hidden_size))
        self.bias_hh_l0 = nn.Parameter(torch.empty(G * hidden_size))
        bound = hidden_size ** -0.5
        for p in (self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0):
            nn.init.uniform_(p, -bound, bound)
        if self.peephole:
            self.weight_c_l0 = nn.Parameter(torch.zeros(G - 1, hidden_size))

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, peephole={self.peephole}, "
                f"coupled={self.coupled}")

    def step(self, a, c):
        """One step from the pre-activations ``a (N, G*H)`` (input and recurrent products and
        both biases) and the old cell ``c (N, H)``: returns ``h, c`` and the gates ``i, f, g, o``."""
        H, w = self.hidden_size, getattr(self, "weight_c_l0", None)
        n_if = H if self.coupled else 2 * H  # the sigmoid gates that read the old cell
        a_if, a_g, a_o = a[:, :n_if], a[:, n_if:n_if + H], a[:, n_if + H:]
        if w is not None:  # one fused multiply-add per group of gates
            old = c if self.coupled else c.repeat(1, 2)
            a_if = torch.addcmul(a_if, w[:-1].reshape(1, -1), old)
        gates = torch.sigmoid(a_if)
        if self.coupled:
            f = gates
            i = 1 - f
        else:
            i, f = gates[:, :H], gates[:, H:]
        g = torch.tanh(a_g)
        c = torch.addcmul(f * c, i, g)
        if w is not None:
            a_o = torch.addcmul(a_o, w[-1], c)  # the output gate reads the new cell
        o = torch.sigmoid(a_o)
        return o * torch.tanh(c), c, (i, f, g, o)

    def forward(self, x, state=None):
        """``x (N, T, D)``, optional ``state = (h0, c0)`` each ``(1, N, H)`` as for ``nn.LSTM``
        -> ``states (N, T, H)`` and ``(h, c)`` each ``(1, N, H)``."""
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x: expected (N, T, {self.input_size}), got {tuple(x.shape)}")
        N, T, _ = x.shape
        if state is None:
            h = c = x.new_zeros(N, self.hidden_size)
        else:
            h, c = state[0][0], state[1][0]
        ax = x @ self.weight_ih_l0.T + (self.bias_ih_l0 + self.bias_hh_l0)  # all steps at once
        states = []
        for t in range(T):
            h, c, _ = self.step(torch.addmm(ax[:, t], h, self.weight_hh_l0.T), c)
            states.append(h)
        return torch.stack(states, 1), (h[None], c[None])


def set_forget_bias_(layer: nn.Module, value: float) -> nn.Module:
    """Set the forget gate's bias of an ``nn.LSTM`` or :class:`VariantLSTM` to ``value``
    (``bias_ih``'s forget block to ``value``, ``bias_hh``'s to 0, so the gate's total bias is
    ``value``); returns the layer. Jozefowicz et al. (2015) recommend 1."""
    gates = gates_of(layer)
    if "f" not in gates:
        raise TypeError(f"layer: {type(layer).__name__} has no forget gate")
    H, k = layer.hidden_size, gates.index("f")
    with torch.no_grad():
        layer.bias_ih_l0[k * H:(k + 1) * H] = float(value)
        layer.bias_hh_l0[k * H:(k + 1) * H] = 0.0
    return layer


class _LastStep(nn.Module):
    """A recurrent layer read out linearly at its last step: ``(N, T, D) -> (N, outputs)``."""

    def __init__(self, layer: nn.Module, outputs: int):
        super().__init__()
        self.rnn, self.out = layer, nn.Linear(layer.hidden_size, outputs)

    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1])


class SeedEnsemble(nn.Module):
    """M last-step regressors, one per seed, trained at once as one block-diagonal model.

    ``make_layer(input_size, hidden_size)`` builds a batch-first recurrent layer (``nn.RNN``,
    ``nn.LSTM``, ``nn.GRU`` or :class:`VariantLSTM`). Member k is drawn exactly as a separate
    model would be after ``torch.manual_seed(seeds[k])``: the layer, then ``nn.Linear(H, 1)``.
    The ensemble's layer has width ``M * H``; unit ``j`` of every gate block belongs to member
    ``j // H``, recurrent weights between members are zero and their gradients are masked, so
    they stay zero under Adam. ``forward`` returns the members' predictions ``(N, M)``.
    """

    def __init__(self, make_layer: Callable[[int, int], nn.Module], input_size: int,
                 hidden_size: int, seeds: Sequence[int]):
        super().__init__()
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError("seeds: expected at least one seed")
        M, H = len(self.seeds), validate.positive("hidden_size", hidden_size, integer=True)
        self.make_layer, self.input_size, self.H = make_layer, input_size, H
        members = []
        with torch.random.fork_rng(devices=[]):  # the caller's random state is left alone
            for seed in self.seeds:
                torch.manual_seed(seed)
                members.append(_LastStep(make_layer(input_size, H), 1))
            self.model = _LastStep(make_layer(input_size, M * H), M)
        self.gates = gates_of(self.model.rnn)
        self._owner = {name: self._owners(name, p) for name, p in self.model.named_parameters()}
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                p.zero_()
                for k, member in enumerate(members):
                    p[self._owner[name] == k] = dict(member.named_parameters())[name].flatten()
        for name, p in self.model.named_parameters():
            mask = (self._owner[name] >= 0).to(p.dtype)
            p.register_hook(lambda g, mask=mask: g * mask)

    def _owners(self, name: str, p) -> torch.Tensor:
        """For each entry of parameter ``name``, the member it belongs to (-1: between members)."""
        H, M = self.H, len(self.seeds)
        unit_member = torch.arange(M * H) // H  # member of each unit of the wide layer
        if name.startswith("out."):
            rows = torch.arange(M)
            if name == "out.bias":
                return rows
            return torch.where(rows[:, None] == unit_member[None, :], rows[:, None], -1)
        if name.startswith("rnn.weight_c"):  # peepholes (gates, units)
            return unit_member.expand(p.shape).clone()
        row_member = unit_member.repeat(p.shape[0] // (M * H))  # gate-major rows
        if name.startswith("rnn.bias"):
            return row_member
        if name.startswith("rnn.weight_ih"):
            return row_member[:, None].expand(p.shape).clone()
        if name.startswith("rnn.weight_hh"):
            same = row_member[:, None] == unit_member[None, :]
            return torch.where(same, row_member[:, None], -1)
        raise ValueError(f"SeedEnsemble: no block layout for parameter {name}")

    def forward(self, x):
        """``x (N, T, D)`` -> predictions ``(N, M)``, column k from member k."""
        return self.model(x)

    def loss(self, pred, y):
        """Sum over members of each member's mean squared error: member k's gradient is the
        gradient of its own loss."""
        return ((pred - y[:, None]) ** 2).mean(0).sum()

    def mse(self, x, y):
        """Each member's mean squared error on ``(x, y)``, as a list of M floats (no gradient)."""
        self.eval()
        with torch.no_grad():
            return ((self(x) - y[:, None]) ** 2).mean(0).tolist()

    def clip_(self, max_norm: float) -> list[float]:
        """Clip each member's gradient to norm ``max_norm`` (``clip_grad_norm_`` per member);
        returns the members' norms before clipping."""
        params = [(n, p) for n, p in self.model.named_parameters() if p.grad is not None]
        norms = []
        for k in range(len(self.seeds)):
            sq = sum((p.grad[self._owner[n] == k] ** 2).sum() for n, p in params)
            norm = float(torch.sqrt(sq))
            norms.append(norm)
            scale = max_norm / (norm + 1e-6)
            if scale < 1:
                for n, p in params:
                    p.grad[self._owner[n] == k] *= scale
        return norms

    def clipped(self, optimizer, max_norm: float):
        """``optimizer`` with per-member clipping before each ``step()`` (for
        :func:`course_lib.train.optimizer_step` and :func:`course_lib.train.torch_step`)."""
        ensemble = self

        class _Clipped:
            def zero_grad(self):
                optimizer.zero_grad()

            def step(self):
                ensemble.clip_(max_norm)
                optimizer.step()

        return _Clipped()

    def member(self, k: int) -> nn.Module:
        """Member ``k`` as a separate last-step regressor (a copy of its current weights)."""
        if not 0 <= k < len(self.seeds):
            raise IndexError(f"k: expected 0 <= k < {len(self.seeds)}, got {k}")
        with torch.random.fork_rng(devices=[]):
            single = _LastStep(self.make_layer(self.input_size, self.H), 1).to(
                self.model.out.weight.dtype)
        with torch.no_grad():
            for name, p in single.named_parameters():
                wide = dict(self.model.named_parameters())[name]
                p.copy_(wide[self._owner[name] == k].view(p.shape))
        return single
