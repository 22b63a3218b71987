"""scaled_dot_product_attention and MultiheadAttention against torch on the CPU executor (fp32 and fp16)."""
import pytest
import torch

import trtnn
import trtnn.nn as nn
from harness import Fn, Random, check, define_and_run
from ops_harness import check_module

r = Random(2)


Q, K, V, V4 = r(2, 3, 5, 8), r(2, 3, 6, 8), r(2, 3, 6, 8), r(2, 3, 6, 4)
BOOL = r(5, 6) > 0
BOOL[:, 0] = True  # no fully masked row (torch gives NaN there)
FLOAT = r(2, 1, 5, 6)

SDPA = {
    "plain": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), [Q, K, V]),
    "causal": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [Q, K, V]),
    "bool_mask": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=BOOL), [Q, K, V]),
    "float_mask_scale": (
        lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, FLOAT.to(q.dtype), scale=0.3), [Q, K, V]),
    # value of another width than key: no IAttention, matmul-softmax-matmul
    "decomposed": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v), [Q, K, V4]),
    "decomposed_causal": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [Q, K, V4]),
    "decomposed_bool_mask": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, BOOL), [Q, K, V4]),
    "rank3": (lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v, FLOAT[0].to(q.dtype)), [Q[0], K[0], V[0]]),
}


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(SDPA))
def test_sdpa(name, dtype):
    fn, inputs = SDPA[name]
    check(fn, [x.half() if dtype == "fp16" else x for x in inputs], dtype=dtype, build=name in ("plain", "bool_mask"))


def _kinds(net):
    return [net.network.get_layer(i).type.name for i in range(net.network.num_layers)]


def test_sdpa_uses_tensorrt_attention_layer_for_4d():
    net, _ = define_and_run(Fn(lambda q, k, v: trtnn.functional.scaled_dot_product_attention(q, k, v)), [Q, K, V])
    assert "ATTENTION_INPUT" in _kinds(net) and "SOFTMAX" not in _kinds(net)
    net, _ = define_and_run(Fn(lambda q, k, v: trtnn.functional.scaled_dot_product_attention(q, k, v)), [Q, K, V4])
    assert "ATTENTION_INPUT" not in _kinds(net) and "SOFTMAX" in _kinds(net)


KPM = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
AM_BOOL = torch.ones(5, 5, dtype=torch.bool).triu(1)
AM_FLOAT3 = r(2 * 4, 5, 5)


def _mha(m, **kw):
    return m.MultiheadAttention(16, 4, **kw)


MHA = {  # (constructor kwargs, forward kwargs, batch_first shapes (q, k, v))
    "self_seq_first": ({}, {}, None),
    "batch_first_no_weights": ({"batch_first": True}, {"need_weights": False}, None),
    "per_head_weights": ({"batch_first": True}, {"average_attn_weights": False}, None),
    "no_bias": ({"bias": False}, {"need_weights": False}, None),
    "key_padding_mask": ({"batch_first": True}, {"key_padding_mask": KPM}, None),
    "key_padding_mask_fused": ({"batch_first": True}, {"key_padding_mask": KPM, "need_weights": False}, None),
    "bool_attn_mask": ({}, {"attn_mask": AM_BOOL, "need_weights": False}, None),
    "causal_hint": ({}, {"attn_mask": AM_BOOL, "is_causal": True}, None),
    "float_attn_mask_3d_and_kpm": ({"batch_first": True}, {"attn_mask": AM_FLOAT3, "key_padding_mask": KPM}, None),
    "kdim_vdim": ({"kdim": 12, "vdim": 10, "batch_first": True}, {}, ((2, 5, 16), (2, 6, 12), (2, 6, 10))),
    "cross_attention": ({"batch_first": True}, {"need_weights": False}, ((2, 5, 16), (2, 6, 16), (2, 6, 16))),
}


class Call(torch.nn.Module):
    """Calls an attention module with fixed keyword arguments on (q, k, v), or (x, x, x) for one input."""

    def __init__(self, inner, kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, *xs):
        q, k, v = xs if len(xs) == 3 else xs * 3
        return self.inner(q, k, v, **self.kw)


class TrtCall(trtnn.Module):
    def __init__(self, inner, kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, *xs):
        q, k, v = xs if len(xs) == 3 else xs * 3
        out, weights = self.inner(q, k, v, **self.kw)
        return out if weights is None else (out, weights)


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(MHA))
def test_multihead_attention(name, dtype):
    ctor, kw, shapes = MHA[name]
    bf = ctor.get("batch_first", False)
    shapes = shapes or [(2, 5, 16)]
    inputs = [r(*s) if bf else r(*s).transpose(0, 1).contiguous() for s in shapes]
    ref = Call(_mha(torch.nn, **ctor), kw)
    mine = TrtCall(_mha(nn, **ctor), kw)
    ref.eval()
    outs = ref(*inputs)
    ref.forward = lambda *xs, f=ref.forward: tuple(o for o in f(*xs) if o is not None)
    check_module(ref, mine, [x.half() if dtype == "fp16" else x for x in inputs] if dtype == "fp16" else inputs, dtype)
    assert (outs[1] is None) == (kw.get("need_weights", True) is False)


def test_multihead_attention_state_dict_keys():
    for ctor in ({}, {"kdim": 12, "vdim": 10}, {"bias": False}):
        assert list(_mha(nn, **ctor).state_dict()) == list(_mha(torch.nn, **ctor).state_dict())


def test_multihead_attention_unbatched():
    x = r(5, 16)
    check_module(Call(_mha(torch.nn), {"need_weights": True}), TrtCall(_mha(nn), {}), [x])


def test_masks_as_network_inputs():
    """Bool masks that arrive as network inputs (not constants): SDPA's True = attend, MHA's True = excluded."""
    net, got = define_and_run(
        Fn(lambda q, k, v, m: trtnn.functional.scaled_dot_product_attention(q, k, v, m)), [Q, K, V, BOOL])
    want = torch.nn.functional.scaled_dot_product_attention(Q, K, V, BOOL)
    assert torch.allclose(got[0], want, atol=1e-5)
    ref, mine = _mha(torch.nn, batch_first=True), _mha(nn, batch_first=True)
    mine.load_state_dict(ref.state_dict())
    x = r(2, 5, 16)
    _, got = define_and_run(Fn(lambda x, kpm, am: mine(x, x, x, key_padding_mask=kpm, attn_mask=am)[0]),
                            [x, KPM, AM_BOOL])
    want = ref.eval()(x, x, x, key_padding_mask=KPM, attn_mask=AM_BOOL)[0]
    assert torch.allclose(got[0], want, atol=1e-5)


ENCODER = {  # constructor kwargs, forward kwargs
    "post_norm_relu": ({}, {}),
    "pre_norm_gelu_batch_first": ({"norm_first": True, "activation": "gelu", "batch_first": True}, {}),
    "torch_gelu_callable_causal_mask": ({"activation": torch.nn.functional.gelu},
                                        {"src_mask": torch.ones(5, 5, dtype=torch.bool).triu(1)}),
}


@pytest.mark.parametrize("name", sorted(ENCODER))
def test_transformer_encoder_layer(name):
    ctor, kw = ENCODER[name]
    make = lambda m: m.TransformerEncoderLayer(16, 4, 32, dropout=0.0, **ctor)  # noqa: E731
    x = r(2, 5, 16) if ctor.get("batch_first") else r(5, 2, 16)
    ref, mine = make(torch.nn), make(nn)
    assert list(mine.state_dict()) == list(ref.state_dict())
    check_module(Call1(ref, kw), TrtCall1(mine, kw), [x])


class Call1(torch.nn.Module):
    def __init__(self, inner, kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, x):
        return self.inner(x, **self.kw)


class TrtCall1(trtnn.Module):
    def __init__(self, inner, kw):
        super().__init__()
        self.inner, self.kw = inner, kw

    def forward(self, x):
        return self.inner(x, **self.kw)


def test_transformer_encoder_stack():
    ref = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(16, 2, 24, 0.0, batch_first=True), 2,
                                      norm=torch.nn.LayerNorm(16), enable_nested_tensor=False)
    mine = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 24, 0.0, batch_first=True), 2, norm=nn.LayerNorm(16))
    assert list(mine.state_dict()) == list(ref.state_dict())
    check_module(ref, mine, [r(2, 5, 16)])
    check_module(ref, mine, [r(2, 5, 16).half()], "fp16")
