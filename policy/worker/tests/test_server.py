"""The HTTP surface: routes, shapes, validation errors, idempotency and policy versions."""

from __future__ import annotations

import threading

import pytest
import torch
from conftest import Worker

from multigym_worker.server import LOCK


def weights(w: Worker) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in w.engine.model.state_dict().items()}


def test_health_and_info(shared_worker: Worker) -> None:
    assert shared_worker.get("/health") == (200, {"status": "ok"})
    status, info = shared_worker.get("/v1/info")
    assert status == 200
    assert info["model"] == "builtin:tiny" and info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["policy_version"] == 0 and info["max_context"] >= 4096 and info["vocab_size"] == 4096
    assert 500_000 < info["parameters"] < 2_000_000


def test_generate_shapes_lengths_logprobs(shared_worker: Worker) -> None:
    out = shared_worker.ok("/v1/generate", {"prompts": ["hello", "2+2="], "n": 3, "max_tokens": 7, "seed": 3})
    assert out["policy_version"] == 0 and len(out["results"]) == 2
    for res in out["results"]:
        assert res["prompt_token_ids"][0] == 0  # <|bos|>
        assert len(res["samples"]) == 3
        for s in res["samples"]:
            t = len(s["token_ids"])
            assert 1 <= t <= 7 and len(s["logprobs"]) == t
            assert all(lp <= 0 for lp in s["logprobs"])
            assert s["finish_reason"] in ("length", "eos", "stop")
            assert s["thinking_tokens"] + s["answer_tokens"] == t
            if s["finish_reason"] == "length":
                assert t == 7


def test_generate_chat_messages_use_the_template(shared_worker: Worker) -> None:
    out = shared_worker.ok(
        "/v1/generate", {"messages": [[{"role": "user", "content": "hi"}]], "max_tokens": 2}
    )
    ids = out["results"][0]["prompt_token_ids"]
    text = shared_worker.engine.tok.decode(ids)
    assert text == "<|bos|><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_tokenize(shared_worker: Worker) -> None:
    out = shared_worker.ok("/v1/tokenize", {"texts": ["hello world", "12345"], "return_ids": True})
    assert out["counts"][1] == 6  # <|bos|> + five single digits
    assert [len(x) for x in out["token_ids"]] == out["counts"]
    assert "token_ids" not in shared_worker.ok("/v1/tokenize", {"texts": ["a"]})


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/generate", {"prompts": ["a"], "n": 0}, "n"),
        ("/v1/generate", {"prompts": ["a"], "temperature": "hot"}, "temperature"),
        ("/v1/generate", {"prompts": []}, "prompts"),
        ("/v1/generate", {"messages": [[{"role": "robot", "content": "x"}]]}, "messages.0.0.role"),
        ("/v1/generate", {"prompts": ["a"], "prompt_token_ids": [[1]]}, "prompt_token_ids"),
        ("/v1/train_step", {"samples": [{"prompt_token_ids": [1]}]}, "idempotency_key"),
        (
            "/v1/train_step",
            {
                "idempotency_key": "k",
                "samples": [{"prompt_token_ids": [1], "completion_token_ids": [2], "advantage": 1}],
            },
            "samples.0.old_logprobs",
        ),
        (
            "/v1/train_step",
            {
                "idempotency_key": "k",
                "samples": [
                    {
                        "prompt_token_ids": [1],
                        "completion_token_ids": [2, 3],
                        "old_logprobs": [-1],
                        "advantage": 1,
                    }
                ],
            },
            "samples.0.old_logprobs",
        ),
        (
            "/v1/train_step",
            {
                "idempotency_key": "k",
                "samples": [
                    {
                        "prompt_token_ids": [1],
                        "completion_token_ids": [2],
                        "old_logprobs": [-1],
                        "advantage": 1,
                    }
                ],
                "hyper": {"loss_agg_mode": "sum"},
            },
            "hyper.loss_agg_mode",
        ),
        ("/v1/sft_step", {"examples": [{"prompt": "a"}]}, "examples.0.completion"),
        ("/v1/checkpoint", {}, "path"),
    ],
)
def test_bad_requests_name_the_field(shared_worker: Worker, path: str, body: dict, field: str) -> None:
    status, out = shared_worker.post(path, body)
    assert status == 400, out
    assert out["error"]["type"] == "validation" and out["error"]["field"] == field
    assert field.split(".")[-1] in out["error"]["message"] or field in out["error"]["message"]


def test_malformed_json_is_400(shared_worker: Worker) -> None:
    status, out = shared_worker.post("/v1/generate", raw=b"{not json")
    assert status == 400 and out["error"]["type"] == "validation"


def test_token_ids_outside_vocabulary(shared_worker: Worker) -> None:
    status, out = shared_worker.post("/v1/generate", {"prompt_token_ids": [[5, 4096]]})
    assert status == 400 and out["error"]["type"] == "token_out_of_range"
    assert out["error"]["field"] == "prompt_token_ids.0.1"
    body = {
        "idempotency_key": "x",
        "samples": [
            {"prompt_token_ids": [1], "completion_token_ids": [9999], "old_logprobs": [-1], "advantage": 1}
        ],
    }
    status, out = shared_worker.post("/v1/train_step", body)
    assert status == 400 and out["error"]["field"] == "samples.0.completion_token_ids.0"


def test_prompt_longer_than_context(shared_worker: Worker) -> None:
    status, out = shared_worker.post("/v1/generate", {"prompt_token_ids": [[7] * 5000]})
    assert status == 400 and out["error"]["type"] == "context_too_long"
    assert out["error"]["field"] == "prompt_token_ids.0"
    assert "5000" in out["error"]["message"] and "4096" in out["error"]["message"]
    assert out["error"]["tokens"] == 5000 and out["error"]["max_context"] == 4096


def test_completion_is_cut_at_the_context_end(shared_worker: Worker) -> None:
    out = shared_worker.ok(
        "/v1/generate", {"prompt_token_ids": [[7] * 4093], "max_tokens": 50, "temperature": 0}
    )
    s = out["results"][0]["samples"][0]
    assert len(s["token_ids"]) <= 3


def test_train_step_idempotency_changes_weights_once(worker: Worker) -> None:
    body = {
        "idempotency_key": "run-1:0",
        "samples": [
            {
                "prompt_token_ids": [0, 11, 12],
                "completion_token_ids": [13, 14, 1],
                "old_logprobs": [-8.3, -8.3, -8.3],
                "advantage": 1.0,
            },
            {
                "prompt_token_ids": [0, 11, 12],
                "completion_token_ids": [20, 1],
                "old_logprobs": [-8.3, -8.3],
                "advantage": -1.0,
            },
        ],
        "hyper": {"learning_rate": 1e-3},
    }
    w0 = weights(worker)
    first = worker.ok("/v1/train_step", body)
    assert first["replayed"] is False and first["policy_version"] == 1
    assert first["metrics"]["tokens"] == 5 and first["metrics"]["learning_rate"] == pytest.approx(1e-3)
    w1 = weights(worker)
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)
    second = worker.ok("/v1/train_step", body)
    assert second["replayed"] is True and second["policy_version"] == 1
    assert second["metrics"] == first["metrics"]
    w2 = weights(worker)
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert worker.get("/v1/info")[1]["policy_version"] == 1
    body["idempotency_key"] = "run-1:1"
    assert worker.ok("/v1/train_step", body)["policy_version"] == 2


def test_sft_step_lowers_loss_and_bumps_version(worker: Worker) -> None:
    body = {
        "examples": [
            {"prompt": "3+4=", "completion": "7"},
            {"messages": [{"role": "user", "content": "hi"}], "completion": "hello"},
        ],
        "learning_rate": 3e-3,
    }
    losses = [worker.ok("/v1/sft_step", body)["loss"] for _ in range(5)]
    assert losses[-1] < losses[0]
    assert worker.get("/v1/info")[1]["policy_version"] == 5
    body["idempotency_key"] = "sft-a"
    a = worker.ok("/v1/sft_step", body)
    b = worker.ok("/v1/sft_step", body)
    assert a["policy_version"] == 6 and b["replayed"] is True and b["policy_version"] == 6


def test_cuda_oom_is_503_and_the_worker_keeps_serving(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(worker.engine.sampler, "generate", boom)
    status, out = worker.post("/v1/generate", {"prompts": ["a"]})
    assert status == 503 and out["error"]["type"] == "cuda_oom"
    monkeypatch.undo()
    assert worker.post("/v1/generate", {"prompts": ["a"], "max_tokens": 2})[0] == 200


def test_health_answers_while_the_model_is_busy(shared_worker: Worker) -> None:
    result: dict = {}
    body = {"prompts": ["busy"] * 4, "n": 4, "max_tokens": 400, "temperature": 1.0, "seed": 0}
    t = threading.Thread(target=lambda: result.update(out=shared_worker.post("/v1/generate", body)))
    app = shared_worker.runner.app
    t.start()
    while not app[LOCK].locked() and t.is_alive():
        threading.Event().wait(0.01)
    assert shared_worker.get("/health") == (200, {"status": "ok"})
    assert shared_worker.get("/v1/info")[0] == 200
    busy = t.is_alive()  # the generate request was still running while /health answered
    t.join()
    assert busy and result["out"][0] == 200
