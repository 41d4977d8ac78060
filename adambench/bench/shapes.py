"""Parameter lists of real models, computed from their architectures (no downloads).

Invariant: a preset is the ordered list of named parameter shapes that the model's
reference implementation registers (its ``parameters()`` order), derived here from the
architecture's published hyperparameters alone; its tensor count and total size are the
published ones (tests/bench/test_shapes.py checks them against the model cards):

* ``gpt2-124m``: GPT-2 small (Radford et al. 2019; 12 layers, d = 768, vocabulary 50257,
  context 1024, output head tied to the token embedding): 148 tensors, 124,439,808.
* ``resnet50``: ResNet-50 (He et al. 2016, Table 1; bottleneck blocks [3, 4, 6, 3],
  batch-norm weight and bias, 1000 classes): 161 tensors, 25,557,032.
* ``bert-base``: BERT-base with its pooler (Devlin et al. 2019; 12 layers, d = 768,
  vocabulary 30522, 512 positions, 2 segment types): 199 tensors, 109,482,240.
* ``llama-7b-layer``: one decoder layer of LLaMA-7B (Touvron et al. 2023; d = 4096,
  SwiGLU width 11008, RMSNorm weights, no biases): 9 tensors, 202,383,360.

``grid`` is the (tensor count x tensor size) grid of flat tensors that torch.optim's
multi-tensor benchmarks report.  What a bench run does with a list (one pass over all
tensors, the list overhead against a flat array of the same total size) is the bench's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

Shape = tuple[int, ...]
Named = list[tuple[str, Shape]]


def _gpt2(layers: int = 12, d: int = 768, vocab: int = 50257, ctx: int = 1024) -> Named:
    out: Named = [("wte", (vocab, d)), ("wpe", (ctx, d))]
    for i in range(layers):
        h = f"h.{i}."
        out += [
            (h + "ln_1.weight", (d,)),
            (h + "ln_1.bias", (d,)),
            (h + "attn.c_attn.weight", (d, 3 * d)),
            (h + "attn.c_attn.bias", (3 * d,)),
            (h + "attn.c_proj.weight", (d, d)),
            (h + "attn.c_proj.bias", (d,)),
            (h + "ln_2.weight", (d,)),
            (h + "ln_2.bias", (d,)),
            (h + "mlp.c_fc.weight", (d, 4 * d)),
            (h + "mlp.c_fc.bias", (4 * d,)),
            (h + "mlp.c_proj.weight", (4 * d, d)),
            (h + "mlp.c_proj.bias", (d,)),
        ]
    return out + [("ln_f.weight", (d,)), ("ln_f.bias", (d,))]


def _bn(name: str, c: int) -> Named:
    return [(name + ".weight", (c,)), (name + ".bias", (c,))]


def _resnet50(blocks: Sequence[int] = (3, 4, 6, 3), classes: int = 1000) -> Named:
    out: Named = [("conv1.weight", (64, 3, 7, 7)), *_bn("bn1", 64)]
    c_in = 64
    for stage, (n, width) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True), 1):
        for b in range(n):
            p = f"layer{stage}.{b}."
            out += [
                (p + "conv1.weight", (width, c_in, 1, 1)),
                *_bn(p + "bn1", width),
                (p + "conv2.weight", (width, width, 3, 3)),
                *_bn(p + "bn2", width),
                (p + "conv3.weight", (4 * width, width, 1, 1)),
                *_bn(p + "bn3", 4 * width),
            ]
            if b == 0:  # the projection shortcut of a stage's first block
                out += [
                    (p + "downsample.0.weight", (4 * width, c_in, 1, 1)),
                    *_bn(p + "downsample.1", 4 * width),
                ]
            c_in = 4 * width
    return out + [("fc.weight", (classes, c_in)), ("fc.bias", (classes,))]


def _bert(layers: int = 12, d: int = 768, vocab: int = 30522, pos: int = 512) -> Named:
    e = "embeddings."
    out: Named = [
        (e + "word_embeddings.weight", (vocab, d)),
        (e + "position_embeddings.weight", (pos, d)),
        (e + "token_type_embeddings.weight", (2, d)),
        *_bn(e + "LayerNorm", d),
    ]
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for m in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ):
            out += [(p + m + ".weight", (d, d)), (p + m + ".bias", (d,))]
        out += _bn(p + "attention.output.LayerNorm", d)
        out += [
            (p + "intermediate.dense.weight", (4 * d, d)),
            (p + "intermediate.dense.bias", (4 * d,)),
            (p + "output.dense.weight", (d, 4 * d)),
            (p + "output.dense.bias", (d,)),
        ]
        out += _bn(p + "output.LayerNorm", d)
    return out + [("pooler.dense.weight", (d, d)), ("pooler.dense.bias", (d,))]


def _llama_layer(d: int = 4096, hidden: int = 11008) -> Named:
    a, m = "self_attn.", "mlp."
    return [
        (a + "q_proj.weight", (d, d)),
        (a + "k_proj.weight", (d, d)),
        (a + "v_proj.weight", (d, d)),
        (a + "o_proj.weight", (d, d)),
        (m + "gate_proj.weight", (hidden, d)),
        (m + "up_proj.weight", (hidden, d)),
        (m + "down_proj.weight", (d, hidden)),
        ("input_layernorm.weight", (d,)),
        ("post_attention_layernorm.weight", (d,)),
    ]


PRESETS: dict[str, Callable[[], Named]] = {
    "gpt2-124m": _gpt2,
    "resnet50": _resnet50,
    "bert-base": _bert,
    "llama-7b-layer": _llama_layer,
}


def preset(name: str) -> Named:
    """The named parameter shapes of a preset, in the model's registration order."""
    if name not in PRESETS:
        raise ValueError(f"unknown shape preset {name!r}; choose from: {', '.join(PRESETS)}")
    return PRESETS[name]()


def shapes(name: str) -> list[Shape]:
    """The shapes of ``preset(name)`` alone."""
    return [s for _, s in preset(name)]


def numel(shape_list: Sequence[Shape]) -> int:
    """The total number of parameters of a list of shapes."""
    return sum(math.prod(s) for s in shape_list)


MAX_GRID_PARAMETERS = 2**31  # a (tensors x numel) point beyond this is refused, not allocated


def grid(tensors: Sequence[int], sizes: Sequence[int]) -> list[tuple[int, int, list[Shape]]]:
    """(count, numel, shapes): ``count`` flat tensors of ``numel`` elements for every pair."""
    out = []
    for n in tensors:
        for k in sizes:
            if n < 1 or k < 1:
                raise ValueError(f"--tensors and --numel must be >= 1, got {n} x {k}")
            if n * k > MAX_GRID_PARAMETERS:
                raise ValueError(
                    f"{n} tensors x {k} elements = {n * k:,} parameters exceeds the bound "
                    f"{MAX_GRID_PARAMETERS:,}"
                )
            out.append((n, k, [(k,)] * n))
    return out
