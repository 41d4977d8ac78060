"""Model presets (adambench/bench/shapes.py) against the figures their model cards publish.

The totals are the published parameter counts, not recomputed from our code:
GPT-2 small 124,439,808 (the Hugging Face model card, head tied to the token embedding);
ResNet-50 25,557,032 (torchvision's model table); BERT-base-uncased with pooler
109,482,240 (the Hugging Face BertModel); LLaMA-7B 6,738,415,616 in all (Touvron et al.
2023, Table 2 rounds it to 6.7B), which is 32 decoder layers plus the token embedding and
output head (32000 x 4096 each) and the final RMSNorm (4096).
"""

from __future__ import annotations

import pytest

from adambench.bench import shapes

PUBLISHED = {
    "gpt2-124m": (148, 124_439_808),
    "resnet50": (161, 25_557_032),
    "bert-base": (199, 109_482_240),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_presets_have_the_published_counts(name):
    count, total = PUBLISHED[name]
    got = shapes.shapes(name)
    assert len(got) == count
    assert shapes.numel(got) == total


def test_llama_layer_times_32_plus_embeddings_is_llama_7b():
    layer = shapes.numel(shapes.shapes("llama-7b-layer"))
    assert len(shapes.shapes("llama-7b-layer")) == 9
    assert 32 * layer + 2 * 32000 * 4096 + 4096 == 6_738_415_616


def test_names_are_unique_and_shapes_positive():
    for name in shapes.PRESETS:
        named = shapes.preset(name)
        assert len({n for n, _ in named}) == len(named), name
        assert all(s and min(s) >= 1 for _, s in named), name


def test_known_tensors_are_where_the_architecture_puts_them():
    gpt2 = dict(shapes.preset("gpt2-124m"))
    assert gpt2["wte"] == (50257, 768) and gpt2["h.11.mlp.c_fc.weight"] == (768, 3072)
    resnet = shapes.preset("resnet50")
    assert resnet[0] == ("conv1.weight", (64, 3, 7, 7)) and resnet[-2] == (
        "fc.weight",
        (1000, 2048),
    )
    assert dict(resnet)["layer4.0.downsample.0.weight"] == (2048, 1024, 1, 1)
    assert dict(shapes.preset("bert-base"))["encoder.layer.0.intermediate.dense.weight"] == (
        3072,
        768,
    )


def test_unknown_preset_is_one_line():
    with pytest.raises(ValueError, match="unknown shape preset 'gpt3'.*gpt2-124m") as e:
        shapes.preset("gpt3")
    assert "\n" not in str(e.value)


def test_grid_is_every_pair_of_flat_tensors():
    g = shapes.grid([100, 500], [1024, 65536])
    assert [(n, k) for n, k, _ in g] == [(100, 1024), (100, 65536), (500, 1024), (500, 65536)]
    assert all(len(s) == n and set(s) == {(k,)} for n, k, s in g)


@pytest.mark.parametrize(("tensors", "sizes", "match"), [
    ([0], [10], ">= 1"), ([10], [-1], ">= 1"), ([2**16], [2**16], "exceeds the bound"),
])  # fmt: skip
def test_grid_refuses_bad_or_huge_points(tensors, sizes, match):
    with pytest.raises(ValueError, match=match):
        shapes.grid(tensors, sizes)
