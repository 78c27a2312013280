"""Built-in architectures and mixed precision (bf16 weights, fp32 master weights)."""

from __future__ import annotations

import torch
from conftest import start_worker

from multigym_worker.models import BUILTINS, count_parameters, load_model


def test_builtin_sizes_and_context() -> None:
    sizes = {}
    for name in ("tiny", "small", "base"):
        model, tok, display = load_model(name, torch.device("cpu"), torch.float32, seed=0)
        sizes[name] = count_parameters(model)
        assert display == f"builtin:{name}" and tok.vocab_size == model.config.vocab_size == 4096
        del model
    assert 0.8e6 < sizes["tiny"] < 2e6
    assert 20e6 < sizes["small"] < 30e6
    assert 110e6 < sizes["base"] < 140e6
    assert BUILTINS["tiny"].max_position_embeddings >= 4096
    assert BUILTINS["base"].rope_theta >= 1e6  # room for longer contexts via --max-context


def test_seed_decides_the_initial_weights() -> None:
    a, _, _ = load_model("tiny", torch.device("cpu"), torch.float32, seed=0)
    b, _, _ = load_model("tiny", torch.device("cpu"), torch.float32, seed=0)
    c, _, _ = load_model("tiny", torch.device("cpu"), torch.float32, seed=1)
    w = "model.layers.0.mlp.up_proj.weight"
    assert torch.equal(a.state_dict()[w], b.state_dict()[w])
    assert not torch.equal(a.state_dict()[w], c.state_dict()[w])


def test_bf16_weights_train_through_fp32_masters() -> None:
    w = start_worker("--dtype", "bf16", "--max-context", "8192")
    try:
        info = w.get("/v1/info")[1]
        assert info["dtype"] == "bfloat16" and info["max_context"] == 8192
        out = w.ok(
            "/v1/sft_step", {"examples": [{"prompt": "2+2=", "completion": "4"}], "learning_rate": 1e-6}
        )
        assert out["policy_version"] == 1
        opt = w.engine.trainer.opt
        assert opt is not None and opt.mixed and all(m.dtype == torch.float32 for m in opt.masters)
        # a tiny learning rate still moves the fp32 masters, and bf16 weights equal the rounded masters
        masters = dict(zip([id(p) for p in opt.params], opt.masters, strict=True))
        for p in opt.params:
            m = masters[id(p)]
            assert torch.equal(p.data, m.to(torch.bfloat16))
        assert any(not torch.equal(m, p.data.float()) for p, m in zip(opt.params, opt.masters, strict=True))
        s = w.ok("/v1/generate", {"prompts": ["2+2="], "max_tokens": 4, "seed": 0})["results"][0]["samples"][
            0
        ]
        assert len(s["logprobs"]) == len(s["token_ids"]) >= 1
    finally:
        w.stop()
