"""IAttention (add_attention_v2): its input boundary layer computes softmax(Q K^T + mask) V (TensorRT does not scale
Q); the output boundary layer passes the result on."""
from __future__ import annotations

import torch

from .common import Node, register


def _causal(kind: str, n_q: int, n_kv: int) -> torch.Tensor:
    """Allowed positions: UPPER_LEFT aligns the diagonal at (0, 0), LOWER_RIGHT at (n_q - 1, n_kv - 1)."""
    offset = 0 if kind == "UPPER_LEFT" else n_kv - n_q
    return torch.ones(n_q, n_kv, dtype=torch.bool).tril(offset)


@register("ATTENTION_INPUT", "IAttentionInputLayer")
def attention_input(node: Node):
    att = node.layer.attention
    if att.query_form.name != "PADDED_BHND" or att.key_value_form.name != "PADDED_BHND":
        raise node.unsupported("packed attention forms")
    if any(node.has_input(i) for i in range(4, len(node.inputs))):
        raise node.unsupported("attention lengths or quantization inputs")
    causal, softmax = att.causal_kind.name, att.norm_op.name == "SOFTMAX"

    def run(q, k, v, mask=None):
        out_dtype = q.dtype
        s = torch.matmul(q.float(), k.float().transpose(-1, -2))
        if causal != "NONE":
            mask = _causal(causal, s.shape[-2], s.shape[-1])
        if mask is not None:
            s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask.float()
        p = torch.softmax(s, -1) if softmax else s
        return torch.matmul(p, v.float()).to(out_dtype)
    return run


@register("ATTENTION_OUTPUT", "IAttentionOutputLayer")
def attention_output(node: Node):
    return lambda x: x
