"""One network using many of the new ops builds a real TensorRT-RTX engine and matches torch on the CPU executor."""
import torch

from harness import Random, check

r = Random(7)
g = r.generator


W = {k: r(*s) for k, s in {
    "ln": (8,), "gn": (8,), "dw": (8, 1, 7, 7), "c1": (6, 4, 3), "c3": (3, 2, 3, 3, 3), "ct1": (6, 4, 2),
    "ct3": (3, 2, 2, 2, 2), "q": (16, 16), "emb": (10, 16), "ein": (16, 8), "pr": (8,), "rms": (16,)}.items()}


def many_ops(F, x, seq, audio, vol, idx):
    # ConvNeXt-like block: depthwise 7x7, channels-last LayerNorm, GELU(tanh), layer scale, roll, flip
    y = F.conv2d(x, W["dw"], None, padding=3, groups=8)
    y = F.layer_norm(y.permute(0, 2, 3, 1), (8,), W["ln"]).permute(0, 3, 1, 2)
    y = F.gelu(F.group_norm(y, 4, W["gn"]), approximate="tanh") + x
    y = F.roll(F.flip(y, [3]), (1, -2), (2, 3))
    y = F.pixel_unshuffle(F.pixel_shuffle(y, 2), 2)
    y = F.interpolate(F.prelu(y, W["pr"].abs()), scale_factor=2, mode="bicubic")
    y = F.channel_shuffle(F.avg_pool2d(y, 2), 2)
    # attention over a sequence with an embedding, a causal SDPA, cumsum, tril, masked_fill, einsum
    s = seq + F.embedding(idx, W["emb"])
    q = F.linear(F.rms_norm(s, (16,), W["rms"]), W["q"]).reshape(2, 5, 2, 8).permute(0, 2, 1, 3)
    a = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    a = F.einsum("bhld,de->bhle", a, W["ein"][:8])
    a = F.masked_fill(F.tril(F.cumsum(a, 2)), a > 1.0, 0.5).repeat(1, 1, 2, 1)
    # 1-D and 3-D convolutions and pools
    u = F.conv_transpose1d(F.max_pool1d(F.conv1d(audio, W["c1"], padding=1), 2), W["ct1"], stride=2)
    u = F.adaptive_avg_pool1d(F.softplus(u, beta=2.0), 5)
    v = F.conv3d(vol, W["c3"], padding=1)
    v = F.conv_transpose3d(F.max_pool3d(v, 2), W["ct3"], stride=2)
    v = F.interpolate(F.logsigmoid(v), scale_factor=0.5, mode="trilinear")
    return y, a, u, v


def test_many_ops_build_one_engine():
    inputs = [r(1, 8, 8, 8), r(2, 5, 16), r(1, 4, 16), r(1, 2, 4, 6, 6), torch.randint(0, 10, (2, 5), generator=g)]
    net, outs, engine = check(many_ops, inputs, build=True)
    assert engine is not None and engine.nbytes > 0
    kinds = {net.network.get_layer(i).type.name for i in range(net.network.num_layers)}
    assert {"NORMALIZATION", "ATTENTION_INPUT", "CUMULATIVE", "EINSUM", "PARAMETRIC_RELU", "RESIZE"} <= kinds
