"""Image captioning with attention (chapter 12): Show, Attend and Tell in small.

A CNN encoder turns an image into a grid of feature vectors ``h (N, L, H)``, one per location
of a ``G_h x G_w`` grid (``L = G_h G_w``, row by row). An LSTM decoder writes the caption one
word at a time; before each word it scores every location against its previous state
``s^(t-1)`` with the additive score of :class:`course_lib.models.attention.Attention`, takes the
softmax over the ``L`` locations and feeds the context ``c^(t) = sum_l a^(t,l) h^(l)`` into
the LSTM together with the previous word (Xu et al. 2015). The loss is the cross-entropy of the
real caption tokens plus the doubly stochastic attention penalty
``lam * sum_l (1 - sum_t a^(t,l))**2`` over the real steps.

Tokens follow :mod:`course_lib.models.seq2seq`: 0 padding, 1 ``<s>``, 2 ``</s>``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course_lib import validate
from course_lib.models.attention import Attention
from course_lib.models.seq2seq import (
    BOS,
    PAD,
    exact_match,
    fit_teacher_forced,
    teacher_forcing_inputs,
)

__all__ = ["Captioner", "ShowAndTell", "caption_loss", "coverage", "coverage_penalty",
           "make_captioner", "train_captioner", "word_accuracy", "caption_accuracy",
           "attention_on_image", "words"]


def make_captioner(
    n_vocab: int,
    size: int = 24,
    hidden: int = 64,
    emb: int = 32,
    attn_size: int = 64,
    channels: int = 32,
    attention: bool = True,
):
    """A CNN encoder and an LSTM decoder with soft attention over the feature grid (a torch
    module); with ``attention=False`` the Show-and-Tell baseline (Vinyals et al. 2015) with the
    same encoder and decoder size, which sees the image only as one vector.

    Encoder: ``Conv(3 -> channels) - ReLU - MaxPool(2) - Conv(channels -> hidden) - ReLU -
    MaxPool(2) - Conv(hidden -> hidden) - ReLU`` (3 x 3 kernels, padding 1) maps
    ``images (N, 3, size, size)`` to a ``size/4 x size/4`` grid of ``hidden``-sized vectors; a
    learned vector per location is added (so a feature knows where it sits) and the grid is
    flattened row by row to ``h (N, L, H)``.

    Decoder: the LSTM's state starts at ``s^(0) = tanh(W_s0 mean_l h^(l))`` and
    ``C^(0) = tanh(W_c0 mean_l h^(l))``. Step ``t`` scores the locations with
    ``r^(t,l) = v^T tanh(W_s s^(t-1) + W_h h^(l))``, takes ``a^(t,.) = softmax_l r^(t,.)`` and
    ``c^(t) = sum_l a^(t,l) h^(l)``, runs ``nn.LSTMCell`` on ``[E y^(t-1); c^(t)]`` and predicts
    ``log softmax(V [s^(t); c^(t)] + b_y)``.

    Methods: ``encode(images) -> h (N, L, H)``; ``init_state(h) -> (s, C)``;
    ``step(y_prev, state, h) -> (log_probs (N, K), state, a (N, L))``;
    ``forward(images, tgt_in) -> (log_probs (N, T, K), a (N, T, L))`` with teacher forcing;
    ``greedy(images, max_len) -> (tokens (N, T), a (N, T, L))`` as NumPy arrays.
    Attribute ``grid = (G_h, G_w)``.

    Without attention (:class:`ShowAndTell`; ``attn_size`` is not used): the grid is flattened
    and mapped linearly to one image vector ``v = W_v vec(h) + b_v`` of size ``hidden`` (like a
    CNN's fully connected layer, so the vector can still encode where each shape is), the state
    starts at ``s^(0) = tanh(W_s0 v)``, ``C^(0) = tanh(W_c0 v)``, and the LSTM then reads only
    ``E y^(t-1)`` and predicts ``log softmax(V s^(t) + b_y)``: after the first state the decoder
    never sees the image again. ``step``, ``forward`` and ``greedy`` return None for the
    weights.
    """
    n_vocab = validate.positive("n_vocab", n_vocab, integer=True)
    size = validate.positive("size", size, integer=True)
    if size % 4:
        raise ValueError(f"size: expected a multiple of 4 (two 2 x 2 poolings), got {size}")
    for name, value in (("hidden", hidden), ("emb", emb), ("attn_size", attn_size),
                        ("channels", channels)):
        validate.positive(name, value, integer=True)
    if not isinstance(attention, bool):
        raise ValueError(f"attention: expected True or False, got {attention!r}")
    if not attention:
        return ShowAndTell(n_vocab, size=size, hidden=hidden, emb=emb, channels=channels)
    return Captioner(n_vocab, size=size, hidden=hidden, emb=emb, attn_size=attn_size,
                     channels=channels)


class _CaptionModel(nn.Module):
    """What both captioners share: the CNN encoder with a learned vector per grid location,
    teacher forcing and greedy decoding. A subclass builds the rest of the decoder and defines
    ``init_state(h)`` and ``step(y_prev, state, h) -> (log_probs, state, a or None)``."""

    def __init__(self, size: int, hidden: int, channels: int):
        super().__init__()
        self.image_size = size
        self.grid = (size // 4, size // 4)
        self.cnn = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
        )
        self.position = nn.Parameter(0.1 * torch.randn(self.grid[0] * self.grid[1], hidden))

    def encode(self, images):
        images = torch.as_tensor(images, dtype=self.position.dtype)
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, self.image_size, self.image_size):
            raise ValueError(f"images: expected shape (N, 3, {self.image_size}, {self.image_size}), "
                             f"got {tuple(images.shape)}")
        f = self.cnn(images)  # (N, H, G_h, G_w)
        return f.flatten(2).transpose(1, 2) + self.position  # (N, L, H), row by row

    @staticmethod
    def _stack(weights):
        return None if weights[0] is None else torch.stack(weights, 1)

    def forward(self, images, tgt_in):
        """Teacher forcing: ``tgt_in (N, T)`` (``<s>`` then the caption shifted right) ->
        log-probabilities ``(N, T, K)`` and weights ``(N, T, L)`` (None without attention)."""
        h = self.encode(images)
        state = self.init_state(h)
        tgt_in = torch.as_tensor(tgt_in)
        out, weights = [], []
        for t in range(tgt_in.shape[1]):
            lp, state, a = self.step(tgt_in[:, t], state, h)
            out.append(lp)
            weights.append(a)
        return torch.stack(out, 1), self._stack(weights)

    @torch.no_grad()
    def greedy(self, images, max_len: int = 9):
        """Greedy captions ``tokens (N, max_len)`` and their weights ``(N, max_len, L)``
        (NumPy; None without attention); steps after ``</s>`` continue but mean nothing."""
        self.eval()
        h = self.encode(images)
        state = self.init_state(h)
        y = torch.full((len(h),), BOS, dtype=torch.long)
        toks, weights = [], []
        for _ in range(max_len):
            lp, state, a = self.step(y, state, h)
            y = lp.argmax(1)
            toks.append(y)
            weights.append(a)
        weights = self._stack(weights)
        return torch.stack(toks, 1).numpy(), None if weights is None else weights.numpy()


class Captioner(_CaptionModel):
    """The captioner with attention built by :func:`make_captioner` (see there)."""

    def __init__(self, n_vocab: int, size: int = 24, hidden: int = 64, emb: int = 32,
                 attn_size: int = 64, channels: int = 32):
        super().__init__(size, hidden, channels)
        self.emb = nn.Embedding(n_vocab, emb, padding_idx=PAD)
        self.init_s = nn.Linear(hidden, hidden)
        self.init_c = nn.Linear(hidden, hidden)
        self.attn = Attention("additive", hidden, attn_size)
        self.cell = nn.LSTMCell(emb + hidden, hidden)
        self.out = nn.Linear(2 * hidden, n_vocab)

    def init_state(self, h):
        mean = h.mean(1)
        return torch.tanh(self.init_s(mean)), torch.tanh(self.init_c(mean))

    def step(self, y_prev, state, h):
        """One word: ``y_prev (N,)``, ``state = (s^(t-1), C^(t-1))`` -> log-probabilities
        ``(N, K)``, the new state and the weights ``a (N, L)``."""
        s, c_cell = state
        mask = torch.ones(h.shape[:2], dtype=torch.bool)
        _, a, ctx = self.attn(s.unsqueeze(1), h, mask)  # (N, 1, L), (N, 1, H)
        a, ctx = a[:, 0], ctx[:, 0]
        x = torch.cat([self.emb(torch.as_tensor(y_prev)), ctx], 1)
        s, c_cell = self.cell(x, (s, c_cell))
        return torch.log_softmax(self.out(torch.cat([s, ctx], 1)), -1), (s, c_cell), a


class ShowAndTell(_CaptionModel):
    """The captioner without attention built by ``make_captioner(..., attention=False)`` (see
    there)."""

    def __init__(self, n_vocab: int, size: int = 24, hidden: int = 64, emb: int = 32,
                 channels: int = 32):
        super().__init__(size, hidden, channels)
        n_loc = self.grid[0] * self.grid[1]
        self.emb = nn.Embedding(n_vocab, emb, padding_idx=PAD)
        self.image = nn.Linear(n_loc * hidden, hidden)  # the one image vector
        self.init_s = nn.Linear(hidden, hidden)
        self.init_c = nn.Linear(hidden, hidden)
        self.cell = nn.LSTMCell(emb, hidden)
        self.out = nn.Linear(hidden, n_vocab)

    def image_vector(self, h):
        """``h (N, L, H)`` -> the image as one vector ``(N, H)``: a linear map of the whole
        grid, flattened (so it can still say where each shape is)."""
        return self.image(h.flatten(1))

    def init_state(self, h):
        v = self.image_vector(h)
        return torch.tanh(self.init_s(v)), torch.tanh(self.init_c(v))

    def step(self, y_prev, state, h):
        """One word: ``y_prev (N,)``, ``state = (s^(t-1), C^(t-1))`` -> log-probabilities
        ``(N, K)``, the new state and None (no attention; ``h`` is not read)."""
        s, c_cell = self.cell(self.emb(torch.as_tensor(y_prev)), state)
        return torch.log_softmax(self.out(s), -1), (s, c_cell), None


def coverage(weights, targets):
    """Attention coverage: each location's weights summed over the real steps of its caption,
    ``sum_t m_nt a_n^(t,l)`` with ``m_nt = 1`` where ``targets != PAD`` (the words and
    ``</s>``). ``weights (N, T, L)``, ``targets (N, T)`` (torch or NumPy) -> ``(N, L)``, of the
    type of ``weights``; each row sums to the caption's number of real steps."""
    as_numpy = isinstance(weights, np.ndarray)
    weights = torch.as_tensor(weights)
    targets = torch.as_tensor(targets)
    if weights.ndim != 3 or weights.shape[:2] != targets.shape:
        raise ValueError(f"weights: expected shape (N, T, L) with (N, T) = "
                         f"{tuple(targets.shape)}, got {tuple(weights.shape)}")
    mask = (targets != PAD).to(weights.dtype)
    cover = (weights * mask.unsqueeze(2)).sum(1)  # (N, L): summed over the real steps
    return cover.numpy() if as_numpy else cover


def coverage_penalty(weights, targets, lam: float = 1.0):
    """The doubly stochastic attention penalty of Xu et al. (2015), in torch:
    ``lam * mean_n sum_l (1 - sum_t m_nt a_n^(t,l))**2``, where ``m_nt`` is 1 for the real steps
    of caption n (``targets != PAD``: the words and ``</s>``) and 0 for padding
    (:func:`coverage`). ``weights (N, T, L)``, ``targets (N, T)`` -> a torch scalar."""
    if not lam >= 0:
        raise ValueError(f"lam: expected a number >= 0, got {lam!r}")
    return lam * ((1 - coverage(weights, targets)) ** 2).sum(1).mean()


def caption_loss(log_probs, targets, weights, lam: float = 0.0):
    """The captioning loss of Xu et al. (2015) for a batch, in torch: the mean of
    ``-log p(y^(t))`` over the real tokens (``targets != PAD``) plus :func:`coverage_penalty`.

    Args:
        log_probs: ``(N, T, K)`` log-probabilities.
        targets: ``(N, T)`` token ids, 0 for padding.
        weights: ``(N, T, L)`` attention weights, or None for a model without attention
            (then ``lam`` must be 0 and the penalty is 0).
        lam: weight of the penalty (>= 0).

    Returns:
        ``(loss, ce, penalty)``, torch scalars, ``loss = ce + penalty``.
    """
    targets = torch.as_tensor(targets)
    if log_probs.ndim != 3 or log_probs.shape[:2] != targets.shape:
        raise ValueError(f"log_probs: expected shape (N, T, K) with (N, T) = "
                         f"{tuple(targets.shape)}, got {tuple(log_probs.shape)}")
    if weights is None:
        if lam != 0:
            raise ValueError(f"lam: a model without attention has no attention penalty; "
                             f"expected lam = 0, got {lam!r}")
        penalty = torch.zeros((), dtype=log_probs.dtype)
    else:
        penalty = coverage_penalty(weights, targets, lam)
    mask = (targets != PAD).to(log_probs.dtype)
    nll = -log_probs.gather(2, targets.unsqueeze(2)).squeeze(2)  # (N, T)
    ce = (nll * mask).sum() / mask.sum()
    return ce + penalty, ce, penalty


def train_captioner(
    model,
    images,
    captions,
    epochs: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    lam: float = 0.0,
    seed: int = 0,
    desc: str = "training",
    evaluate=None,
):
    """Train ``model`` (from :func:`make_captioner`) with teacher forcing, Adam and
    :func:`caption_loss` (gradient norm clipped at 1) using :func:`course_lib.train.fit`.
    ``images (N, 3, S, S)``, ``captions (N, T)``. Returns the history (the loss per epoch, and
    whatever ``evaluate()`` returns)."""
    captions = validate.array("captions", captions, ("N", "T"), dtype=np.int64)
    images = validate.array("images", images, (len(captions), 3, None, None), dtype=np.float32)

    def loss(x, ti, to):
        keep = int((to != PAD).sum(1).max())  # drop padding columns shared by the batch
        log_probs, weights = model(x, ti[:, :keep])
        return caption_loss(log_probs, to[:, :keep], weights, lam)[0]

    return fit_teacher_forced(model, (images, teacher_forcing_inputs(captions), captions), loss,
                              epochs, batch_size, lr, seed, desc, evaluate)


def word_accuracy(pred: np.ndarray, captions: np.ndarray) -> float:
    """Share of the real caption tokens (words and ``</s>``) predicted at their position.
    ``pred (N, T')``, ``captions (N, T)`` with ``T' >= T``."""
    captions = validate.array("captions", captions, ("N", "T"), dtype=np.int64)
    pred = validate.array("pred", pred, (len(captions), None), dtype=np.int64)
    if pred.shape[1] < captions.shape[1]:
        raise ValueError(f"pred: expected at least T={captions.shape[1]} steps, "
                         f"got {pred.shape[1]}")
    real = captions != PAD
    return float((pred[:, : captions.shape[1]] == captions)[real].mean())


def caption_accuracy(pred: np.ndarray, captions: np.ndarray) -> float:
    """Share of captions right as a whole (up to the first ``</s>``)."""
    return float(exact_match(pred, captions).mean())


def words(tokens, vocab) -> list[str]:
    """The words of a caption up to its first ``</s>`` (``<s>`` and padding dropped)."""
    out = []
    for tok in tokens:
        if vocab[int(tok)] == "</s>":
            break
        if int(tok) > 2:
            out.append(vocab[int(tok)])
    return out


def attention_on_image(ax, image, weights, grid, title: str | None = None,
                       vmax: float = 0.3, colorbar=True):
    """Show where a captioner looks: the weights ``(L,)`` over a ``grid = (G_h, G_w)`` as a
    grey glow behind the shapes of ``image (3, S, S)`` (a scene on black, from
    :func:`course_lib.data.shape_scenes`): black for weight 0, white for ``vmax`` or more, each
    grid cell covering ``S/G_h x S/G_w`` pixels, smoothly interpolated. The shapes are drawn
    slightly transparent over the glow; a white frame marks the cell with the largest weight.

    ``colorbar``: True draws a colour bar of the weights beside ``ax``; a sequence of axes draws
    one bar shared by them (give the other panels ``colorbar=False``); False draws none.
    Returns the ``AxesImage`` of the weights."""
    from matplotlib.patches import Rectangle

    image = np.asarray(image, dtype=np.float64).transpose(1, 2, 0)
    S = image.shape[0]
    w = np.asarray(weights, dtype=np.float64).reshape(grid)
    glow = ax.imshow(w, cmap="gray", vmin=0, vmax=vmax, extent=(0, S, S, 0),
                     interpolation="bilinear")
    if colorbar is not False:
        ax.figure.colorbar(glow, ax=ax if colorbar is True else list(colorbar),
                           label="attention weight", extend="max")
    lit = (image.max(-1, keepdims=True) > 0) * 0.7
    ax.imshow(np.concatenate([image, lit], -1), extent=(0, S, S, 0), interpolation="nearest")
    r, c = np.unravel_index(int(np.argmax(w)), grid)
    ch, cw = S / grid[0], S / grid[1]
    ax.add_patch(Rectangle((c * cw, r * ch), cw, ch, fill=False, edgecolor="white",
                           linewidth=1.0))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    if title is not None:
        ax.set_title(title)
    return glow
