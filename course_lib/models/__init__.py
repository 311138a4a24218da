"""The torch models of the course, as classes at module level with a ``make_*`` factory each:

- :mod:`course_lib.models.tokens`     -- token ids, score names and NumPy token helpers (no torch;
  what the checks and references import).
- :mod:`course_lib.models.attention`  -- ``Attention``: additive, dot, scaled-dot and bilinear
  scores, masked softmax and context (chapters 10 to 12).
- :mod:`course_lib.models.seq2seq`    -- ``Seq2Seq``: the GRU encoder-decoder, its training loop,
  token helpers, ``DecoderStep`` and the ``beam_search`` bookkeeping (chapters 10 and 11).
- :mod:`course_lib.models.captioning` -- ``Captioner``: CNN encoder and LSTM decoder with soft
  attention over the feature grid, its loss, training loop and metrics (chapter 12).
- :mod:`course_lib.models.lstm_variants` -- ``VariantLSTM`` (peepholes, coupled input and forget
  gates), ``set_forget_bias_`` and ``SeedEnsemble``, several seeds trained as one block-diagonal
  model (chapter 7).

Import the module you need (``from course_lib.models import seq2seq`` or
``from course_lib.models.seq2seq import make_seq2seq``); this package imports none of them, so
``import course_lib.models`` alone does not load torch.
"""
