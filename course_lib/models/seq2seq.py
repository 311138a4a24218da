"""The small torch encoder–decoder (GRU encoder, GRU decoder, optional attention) shared by
chapters 10 to 12, its training loop (teacher forcing on :func:`course_lib.train.fit`, or
scheduled sampling with a :func:`sampling_schedule`), the token helpers (``PAD``, ``BOS``,
``EOS``, :func:`strip_eos`, :func:`exact_match`) and :func:`edit_distance`.

Chapter 10 uses it without attention (the fixed-vector bottleneck) and for beam search through
``step``; chapter 11 compares the attention scores of :mod:`course_lib.models.attention`,
which chapter 12's captioner reuses.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course_lib import validate
from course_lib.models.attention import Attention
from course_lib.models.tokens import (  # noqa: F401  (part of this module's interface)
    BOS,
    EOS,
    PAD,
    SCORES,
    exact_match,
    strip_eos,
    teacher_forcing_inputs,
)


def make_seq2seq(
    n_src: int,
    n_tgt: int,
    hidden: int = 64,
    emb: int = 32,
    attention: str | None = "additive",
    attn_size: int = 64,
    bidirectional: bool = True,
):
    """A GRU encoder–decoder for token sequences, with or without attention (a torch module).

    Encoder: embedding and ``nn.GRU`` over the source ``src (N, T_x)`` (0 = padding) giving
    ``h (N, T_x, H)``; bidirectional by default (H/2 units each way, concatenated, padding
    skipped with a packed sequence). Decoder: a ``nn.GRU`` whose state ``s`` starts at the
    encoder's final states (forward at the last real step, backward at the first) and reads the
    embedding of the previous token; with attention, the context ``c^(t)`` is computed from the
    query ``s^(t-1)`` and the output layer reads ``[s^(t); c^(t)]``. That is a hybrid of the two
    classic decoders: the query is Bahdanau et al.'s (2015) previous decoder state, but, as in
    Luong et al. (2015), the context feeds only the output, not the recurrence (Luong et al. take
    the query from the new state ``s^(t)`` and add a tanh layer and input feeding, which this
    model leaves out), so teacher forcing runs all steps at once.
    Without attention (``attention=None``) the decoder sees the source only through its initial
    state: the fixed-vector bottleneck.

    Methods: ``forward(src, tgt_in) -> logits (N, T_y, K)`` with teacher forcing;
    ``encode(src) -> (h, mask, s0)``; ``step(y_prev, s, h, mask) -> (log_probs (N, K), s,
    a (N, T_x) or None)``; ``greedy(src, max_len) -> (tokens (N, T_y), weights (N, T_y, T_x))``.
    """
    if attention is not None and attention not in SCORES:
        raise ValueError(f"attention: expected None or one of {SCORES}, got {attention!r}")
    return Seq2Seq(n_src, n_tgt, hidden=hidden, emb=emb, attention=attention,
                   attn_size=attn_size, bidirectional=bidirectional)


class Seq2Seq(nn.Module):
    """The encoder-decoder built by :func:`make_seq2seq` (see there)."""

    def __init__(self, n_src: int, n_tgt: int, hidden: int = 64, emb: int = 32,
                 attention: str | None = "additive", attn_size: int = 64,
                 bidirectional: bool = True):
        super().__init__()
        self.attention_kind = attention
        self.src_emb = nn.Embedding(n_src, emb, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(n_tgt, emb, padding_idx=PAD)
        if bidirectional and hidden % 2:
            raise ValueError(
                f"hidden: expected an even size for a bidirectional encoder, got {hidden}"
            )
        self.encoder = nn.GRU(
            emb,
            hidden // 2 if bidirectional else hidden,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self.decoder = nn.GRU(emb, hidden, batch_first=True)
        self.attn = Attention(attention, hidden, attn_size) if attention else None
        self.out = nn.Linear(2 * hidden if attention else hidden, n_tgt)

    def encode(self, src):
        src = torch.as_tensor(src)
        mask = src != PAD
        lengths = mask.sum(1)
        packed = nn.utils.rnn.pack_padded_sequence(
            self.src_emb(src), lengths, batch_first=True, enforce_sorted=False
        )
        h, last = self.encoder(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=src.shape[1])
        s0 = torch.cat(list(last), 1)  # (N, H): the final state of each direction
        return h, mask, s0

    def _readout(self, s_prev, s_new, h, mask):
        """Output log-probabilities from s^(t) and, with attention, the context computed
        from s^(t-1); the arrays carry a time axis: (N, T, H)."""
        if self.attn is None:
            return torch.log_softmax(self.out(s_new), -1), None
        _, a, c = self.attn(s_prev, h, mask)
        return torch.log_softmax(self.out(torch.cat([s_new, c], -1)), -1), a

    def step(self, y_prev, s, h, mask):
        """One output step: ``y_prev (N,)``, ``s = s^(t-1) (N, H)`` -> log-probabilities
        ``(N, K)``, ``s^(t)`` and the attention weights ``(N, T_x)`` (None without)."""
        y_prev = torch.as_tensor(y_prev)
        out, _ = self.decoder(self.tgt_emb(y_prev).unsqueeze(1), s.unsqueeze(0))
        lp, a = self._readout(s.unsqueeze(1), out, h, mask)
        return lp[:, 0], out[:, 0], (a[:, 0] if a is not None else None)

    def forward(self, src, tgt_in, return_weights=False):
        """Teacher forcing: ``src (N, T_x)``, ``tgt_in (N, T_y)`` -> log-probabilities
        ``(N, T_y, K)`` (and the weights ``(N, T_y, T_x)``). The decoder's recurrence does
        not read the context, so all steps run at once."""
        h, mask, s0 = self.encode(src)
        states, _ = self.decoder(self.tgt_emb(torch.as_tensor(tgt_in)), s0.unsqueeze(0))
        s_prev = torch.cat([s0.unsqueeze(1), states[:, :-1]], 1)
        lp, a = self._readout(s_prev, states, h, mask)
        return (lp, a) if return_weights else lp

    @torch.no_grad()
    def greedy(self, src, max_len: int):
        """Greedy decoding: ``tokens (N, max_len)`` and weights ``(N, max_len, T_x)``
        (zeros without attention)."""
        self.eval()
        h, mask, s = self.encode(src)
        y = torch.full((len(h),), BOS, dtype=torch.long)
        toks, weights = [], []
        for _ in range(max_len):
            lp, s, a = self.step(y, s, h, mask)
            y = lp.argmax(1)
            toks.append(y)
            weights.append(a if a is not None else torch.zeros(mask.shape))
        return torch.stack(toks, 1).numpy(), torch.stack(weights, 1).numpy()


def train_seq2seq(
    model,
    src,
    tgt,
    epochs: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    desc: str = "training",
    evaluate=None,
    sampling=None,
):
    """Train ``model`` with teacher forcing and Adam (cross-entropy over the real target tokens,
    padding ignored, gradient norm clipped at 1) using :func:`course_lib.train.fit`.
    Returns the history.

    ``sampling`` switches on *scheduled sampling* (Bengio et al. 2015): a schedule
    ``p(update) -> probability`` (update counted from 0 over the whole call, e.g. one of
    :func:`sampling_schedule`). At every update the decoder then runs step by step
    (:func:`scheduled_sampling_forward`): after the first output step, each sentence reads its
    own previous most probable token with probability ``p`` instead of the true one. ``None``
    (the default) is plain teacher forcing, all steps in one call. The coins are drawn from a
    generator seeded with ``seed``; the history gains ``"p"``, the last probability of each
    pass."""
    generator = torch.Generator().manual_seed(int(seed))
    update = [0]
    used = []

    def loss(s, ti, to):
        keep = int((s != PAD).sum(1).max())  # trim padding columns shared by the batch
        keep_t = int((to != PAD).sum(1).max())
        if sampling is None:
            logp = model(s[:, :keep], ti[:, :keep_t])
        else:
            p = float(sampling(update[0]))
            update[0] += 1
            used.append(p)
            logp, _ = scheduled_sampling_forward(model, s[:, :keep], ti[:, :keep_t], p,
                                                 generator)
        return torch.nn.functional.nll_loss(
            logp.reshape(-1, logp.shape[-1]), to[:, :keep_t].reshape(-1), ignore_index=PAD
        )

    evaluate_p = evaluate
    if sampling is not None:
        def evaluate_p():
            return {"p": used[-1], **(evaluate() if evaluate is not None else {})}

    return fit_teacher_forced(model, (src, teacher_forcing_inputs(tgt), tgt), loss, epochs,
                              batch_size, lr, seed, desc, evaluate_p)


def scheduled_sampling_forward(model, src, tgt_in, p: float, generator=None):
    """The decoder of scheduled sampling, step by step: ``src (N, T_x)``, the teacher-forcing
    inputs ``tgt_in (N, T_y)`` (``<s>`` then the target shifted right) and the probability
    ``p`` -> log-probabilities ``(N, T_y, K)`` and the tokens the decoder actually read
    ``fed (N, T_y)``.

    Step 1 reads ``tgt_in[:, 0]`` (``<s>``). At every later step ``t`` a coin per sentence
    (``torch.rand < p`` with ``generator``) picks the model's own most probable token of step
    ``t - 1`` (no gradient flows through that choice), otherwise the true ``tgt_in[:, t]``.
    ``p = 0`` reads exactly the teacher-forcing inputs, ``p = 1`` only the model's own tokens,
    the inputs of greedy decoding."""
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p}")
    tgt_in = torch.as_tensor(tgt_in)
    if tgt_in.ndim != 2:
        raise ValueError(f"tgt_in: expected shape (N, T_y), got {tuple(tgt_in.shape)}")
    h, mask, s = model.encode(src)
    y = tgt_in[:, 0]
    steps, fed = [], []
    for t in range(tgt_in.shape[1]):
        if t > 0:
            own = steps[-1].detach().argmax(-1)
            coin = torch.rand(len(y), generator=generator) < p
            y = torch.where(coin, own, tgt_in[:, t])
        lp, s, _ = model.step(y, s, h, mask)
        steps.append(lp)
        fed.append(y)
    return torch.stack(steps, 1), torch.stack(fed, 1)


def sampling_schedule(kind: str, *, updates: int | None = None, k: float | None = None,
                      p_max: float = 1.0):
    """A schedule of scheduled sampling: ``p(i)``, the probability of feeding the model's own
    token at update ``i = 0, 1, ...``, rising from 0 towards ``p_max``. Bengio et al. (2015)
    schedule the probability of the *true* token, ``eps_i``; here ``p_i = p_max (1 - eps_i)``.

    - ``"linear"`` (needs ``updates``): ``eps_i = max(0, 1 - i / updates)``, so
      ``p_i = p_max * min(i / updates, 1)``: 0 at the start, ``p_max`` from update ``updates`` on.
    - ``"inverse_sigmoid"`` (needs ``k >= 1``): ``eps_i = k / (k + exp(i / k))``, so ``p_0 =
      p_max / (k + 1)``, ``p_i = p_max / 2`` at ``i = k ln k``, and ``p_i -> p_max``.
    """
    p_max = float(p_max)
    if not 0.0 <= p_max <= 1.0:
        raise ValueError(f"p_max: expected a probability in [0, 1], got {p_max}")
    if kind == "linear":
        if updates is None:
            raise ValueError("updates: the linear schedule needs the number of updates")
        updates = validate.positive("updates", updates, integer=True)
        return lambda i: p_max * min(_update_index(i) / updates, 1.0)
    if kind == "inverse_sigmoid":
        if k is None or not np.isfinite(k) or k < 1:
            raise ValueError(f"k: the inverse sigmoid schedule needs k >= 1, got {k!r}")
        k = float(k)
        return lambda i: p_max * (1.0 - k / (k + np.exp(_update_index(i) / k)))
    raise ValueError(f"kind: expected 'linear' or 'inverse_sigmoid', got {kind!r}")


def _update_index(i) -> int:
    if isinstance(i, bool) or not isinstance(i, int | np.integer) or i < 0:
        raise ValueError(f"i: expected an update index, an int >= 0, got {i!r}")
    return int(i)


def edit_distance(pred, tgt) -> np.ndarray:
    """Per sentence, the Levenshtein distance (insertions, deletions and substitutions of one
    token, each costing 1) between the prediction up to its first ``</s>`` and the target's
    tokens (padding and ``</s>`` dropped). ``pred (N, T)``, ``tgt (N, T_y)`` -> ``(N,)`` ints."""
    out = []
    for p, q in zip(pred, tgt, strict=True):
        a, b = strip_eos(p), strip_eos([t for t in q if t != PAD])
        row = list(range(len(b) + 1))  # distances from the empty prefix of a
        for i, x in enumerate(a, start=1):
            prev, row[0] = row[0], i
            for j, z in enumerate(b, start=1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != z))
        out.append(row[-1])
    return np.array(out, dtype=np.int64)


def fit_teacher_forced(model, arrays, batch_loss, epochs: int, batch_size: int, lr: float,
                       seed: int, desc: str, evaluate=None):
    """The training loop of the course's models: Adam with learning rate ``lr`` on
    ``batch_loss(*tensors)`` for minibatches of ``arrays`` (inputs, decoder inputs, targets;
    shuffled by a generator seeded with ``seed``), gradient norm clipped at 1, run by
    :func:`course_lib.train.fit`. Returns the history."""
    from course_lib import train

    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(batch):
        tensors = [torch.as_tensor(b) for b in batch]
        return train.optimizer_step(model, opt, lambda: batch_loss(*tensors), clip=1.0)

    return train.fit(
        step,
        lambda epoch: train.minibatches(arrays, batch_size, rng),
        epochs=epochs,
        evaluate=evaluate,
        desc=desc,
    )


class DecoderStep:
    """The decoder of ``model`` for the sources ``src (N, T_x)``, as a step function on NumPy
    arrays: ``step(y_prev (B,), s (B, H)) -> (log_probs (B, K), s (B, H))``, all float64
    except the integer tokens, so a lab's NumPy code never touches a tensor.

    ``B`` equals N, or is any number of rows when N = 1 (the hypotheses of one beam share the
    encoder states). :meth:`initial_state` is the decoder's start state ``s^(0) (N, H)``.
    Everything runs without gradients, in evaluation mode.
    """

    def __init__(self, model, src):
        self.model = model.eval()
        self.src = validate.array("src", src, ("N", "T_x"), dtype=np.int64)
        with torch.no_grad():
            self.h, self.mask, s0 = model.encode(self.src)
        self.s0 = s0.double().numpy()

    def initial_state(self) -> np.ndarray:
        """``s^(0) (N, H)``, the encoder's final states (a new float64 array each call)."""
        return self.s0.copy()

    def __call__(self, y_prev, s):
        h, mask = self.h, self.mask
        s = torch.as_tensor(np.asarray(s), dtype=h.dtype)
        if len(s) != len(h):
            if len(h) != 1:
                raise ValueError(f"s: expected {len(h)} rows (one per source), got {len(s)}")
            h, mask = h.expand(len(s), -1, -1), mask.expand(len(s), -1)
        y_prev = torch.as_tensor(np.asarray(y_prev, dtype=np.int64))
        with torch.no_grad():
            log_probs, s, _ = self.model.step(y_prev, s, h, mask)
        return log_probs.double().numpy(), s.double().numpy()


def beam_search(step, state, beam_step, beam_size: int, max_len: int, alpha: float = 0.0):
    """Beam search for one input, around a function that does one step of it.

    Starts from one empty hypothesis (score 0, length 0) fed ``<s>``; at every step calls
    ``step(y_prev (B,), state) -> (log_probs (B, K), state)`` on the hypotheses of the beam,
    then ``beam_step(log_probs, scores, lengths, finished, beam_size, EOS, alpha) -> (parents,
    tokens, scores, lengths, finished)`` (each ``(M,)``, best first), and reorders the token
    histories and the states by ``parents``. Stops when every hypothesis has ended with
    ``</s>`` or after ``max_len`` tokens. The beam step is the lab's exercise (or the reference
    of :mod:`course_lib.references.ch10`); this function only does the bookkeeping.

    Args:
        step: the decoder, e.g. a :class:`DecoderStep` of one source sentence.
        state: its start state, first axis of length 1 (an array, indexable by an int array).
        beam_step: one step of beam search, as above.
        beam_size, max_len: positive ints.
        alpha: length-normalisation exponent passed to ``beam_step``.

    Returns:
        ``hypotheses``: the final beam as ``(tokens, score, normalised score)`` best first
        (tokens a list without ``</s>``; normalised score = score / length**alpha), and
        ``history``: one dict per step with the beam's ``tokens (M, t)``, ``scores``,
        ``lengths``, ``finished`` and ``parents``.
    """
    beam_size = validate.positive("beam_size", beam_size, integer=True)
    max_len = validate.positive("max_len", max_len, integer=True)
    tokens = np.zeros((1, 0), dtype=np.int64)
    scores, lengths, finished = np.zeros(1), np.zeros(1, dtype=np.int64), np.zeros(1, dtype=bool)
    y = np.full(1, BOS, dtype=np.int64)
    history = []
    for _ in range(max_len):
        log_probs, state = step(y, state)
        out = beam_step(log_probs, scores, lengths, finished, beam_size, EOS, alpha)
        parents, y, scores, lengths, finished = (np.asarray(a) for a in out)
        parents, y = parents.astype(np.int64), y.astype(np.int64)
        tokens = np.concatenate([tokens[parents], y[:, None]], axis=1)
        state = state[parents]
        history.append({"tokens": tokens, "scores": scores, "lengths": lengths,
                        "finished": finished.astype(bool), "parents": parents})
        if finished.all():
            break
    normalised = scores / np.maximum(lengths, 1) ** alpha
    order = np.argsort(-normalised, kind="stable")
    hypotheses = [(strip_eos(tokens[i]), float(scores[i]), float(normalised[i])) for i in order]
    return hypotheses, history
