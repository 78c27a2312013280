"""Who may drive the worker and where it may write: bearer token, JSON-only bodies, strict JSON, the
checkpoint root (`..`, absolute paths and symlinks out of it are refused), binding and token setup."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import Worker, start_worker

from multigym_worker.__main__ import access_token, parse_args
from multigym_worker.auth import TokenConfigError, resolve_token
from multigym_worker.paths import CheckpointRoot

TOKEN = "s3cret-token-for-tests-0123456789"
SAMPLE = {
    "prompt_token_ids": [0, 11],
    "completion_token_ids": [13, 14],
    "old_logprobs": [-8.3, -8.3],
    "advantage": 1.0,
}


def weights(w: Worker) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in w.engine.model.state_dict().items()}


@pytest.fixture(scope="module")
def guarded() -> Worker:
    w = start_worker(token=TOKEN)
    yield w
    w.stop()


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},  # no scheme
        {"Authorization": f"Basic {TOKEN}"},
    ],
)
def test_a_missing_or_wrong_token_is_401_on_every_route(guarded: Worker, headers: dict[str, str]) -> None:
    before = weights(guarded)
    for path in ("/v1/info",):
        status, out = guarded.get(path, headers=headers)
        assert status == 401 and out["error"]["type"] == "unauthorized", out
    for path, body in [
        ("/v1/generate", {"prompts": ["a"], "max_tokens": 2}),
        ("/v1/train_step", {"idempotency_key": "x", "samples": [SAMPLE]}),
        ("/v1/sft_step", {"examples": [{"prompt": "a", "completion": "b"}]}),
        ("/v1/checkpoint", {"path": "stolen"}),
        ("/v1/load", {"path": "stolen"}),
        ("/v1/tokenize", {"texts": ["a"]}),
    ]:
        status, out = guarded.post(path, body, headers=headers)
        assert status == 401 and out["error"]["type"] == "unauthorized", (path, out)
    assert guarded.engine.policy_version == 0
    assert all(torch.equal(v, before[k]) for k, v in weights(guarded).items())
    assert not (guarded.engine.root.root / "stolen").exists()


def test_the_right_token_passes_and_health_is_open(guarded: Worker) -> None:
    assert guarded.get("/v1/info")[0] == 200
    assert guarded.get("/health", headers={"Authorization": ""}) == (200, {"status": "ok"})


def test_the_401_names_the_scheme() -> None:
    import urllib.error
    import urllib.request

    w = start_worker(token=TOKEN)
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(w.url + "/v1/info", timeout=30)
        assert e.value.code == 401 and e.value.headers["WWW-Authenticate"].startswith("Bearer")
    finally:
        w.stop()


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/x-www-form-urlencoded", b'{"prompts": ["a"], "max_tokens": 2}'),
        ("application/x-www-form-urlencoded", b"prompts=a&max_tokens=2"),
        ("text/plain", b'{"prompts": ["a"], "max_tokens": 2}'),
        ("multipart/form-data; boundary=x", b'{"prompts": ["a"], "max_tokens": 2}'),
        ("", b'{"prompts": ["a"], "max_tokens": 2}'),
    ],
)
def test_a_body_not_declared_json_is_415(shared_worker: Worker, content_type: str, raw: bytes) -> None:
    status, out = shared_worker.post("/v1/generate", raw=raw, headers={"Content-Type": content_type})
    assert status == 415 and out["error"]["type"] == "unsupported_media_type", out


def test_a_form_encoded_train_step_changes_nothing(worker: Worker) -> None:
    import json

    before = weights(worker)
    body = json.dumps({"idempotency_key": "form", "samples": [SAMPLE]}).encode()
    status, _ = worker.post(
        "/v1/train_step", raw=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 415 and worker.engine.policy_version == 0 and not worker.engine.records
    assert all(torch.equal(v, before[k]) for k, v in weights(worker).items())


def test_json_with_a_charset_is_accepted(shared_worker: Worker) -> None:
    status, out = shared_worker.post(
        "/v1/tokenize", raw=b'{"texts": ["ab"]}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert status == 200 and out["counts"] == [2]  # <|bos|> + "ab"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"texts": ["a"], "return_ids": NaN}',
        b'{"prompts": ["a"], "temperature": Infinity}',
        b'{"prompts": ["a"], "temperature": -Infinity}',
        b'{"prompts": ["a"], "temperature": 1e999}',
    ],
)
def test_non_standard_json_numbers_are_400(shared_worker: Worker, raw: bytes) -> None:
    path = "/v1/tokenize" if b"texts" in raw else "/v1/generate"
    status, out = shared_worker.post(path, raw=raw)
    assert status == 400 and out["error"]["type"] == "validation", out


# ---- the checkpoint root --------------------------------------------------------------------------


@pytest.fixture
def rooted(tmp_path: Path) -> Worker:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    w = start_worker("--checkpoint-dir", str(tmp_path / "root"))
    yield w
    w.stop()


def outside_paths(tmp_path: Path) -> list[str]:
    root = tmp_path / "root"
    (root / "escape").symlink_to(tmp_path / "outside")  # a symlink inside the root, pointing out
    (root / "inner").mkdir()
    return [
        "../outside/ck",
        str(tmp_path / "outside" / "ck"),
        "/etc/multigym-ck",
        "inner/../../outside/ck",
        str(root / ".." / "outside" / "ck"),
        "escape/ck",
        "escape",
        str(root),
        ".",
        "inner/..",
        "",
    ]


def test_checkpoint_paths_outside_the_root_are_400_and_write_nothing(rooted: Worker, tmp_path: Path) -> None:
    for path in outside_paths(tmp_path):
        status, out = rooted.post("/v1/checkpoint", {"path": path})
        assert status == 400, (path, out)
        # "" fails the schema (min length 1) before it reaches the root check
        assert out["error"]["type"] == ("validation" if path == "" else "path_outside_root"), (path, out)
        assert out["error"]["field"] == "path"
    assert list((tmp_path / "outside").iterdir()) == []
    assert not Path("/etc/multigym-ck").exists()


def test_load_paths_outside_the_root_are_400(rooted: Worker, tmp_path: Path) -> None:
    # a complete checkpoint outside the root: refused before anything is read
    other = start_worker("--checkpoint-dir", str(tmp_path / "outside"))
    try:
        other.ok("/v1/sft_step", {"examples": [{"prompt": "a", "completion": "b"}]})
        other.ok("/v1/checkpoint", {"path": "ck"})
    finally:
        other.stop()
    assert (tmp_path / "outside" / "ck" / "state.json").is_file()
    for path in outside_paths(tmp_path):
        status, out = rooted.post("/v1/load", {"path": path})
        assert status == 400, (path, out)
        assert out["error"]["type"] in ("path_outside_root", "validation"), (path, out)
    assert rooted.engine.policy_version == 0


def test_paths_inside_the_root_work_relative_absolute_and_through_inner_symlinks(
    rooted: Worker, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    rooted.ok("/v1/sft_step", {"examples": [{"prompt": "a", "completion": "b"}]})
    a = rooted.ok("/v1/checkpoint", {"path": "run-1/step-1"})
    assert a["path"] == str(root / "run-1" / "step-1") and a["policy_version"] == 1
    b = rooted.ok("/v1/checkpoint", {"path": str(root / "abs")})
    assert b["path"] == str(root / "abs")
    (root / "alias").symlink_to(root / "run-1")  # stays inside: allowed, reported by its real path
    c = rooted.ok("/v1/load", {"path": "alias/step-1"})
    assert c["path"] == str(root / "run-1" / "step-1") and c["policy_version"] == 1
    assert rooted.ok("/v1/load", {"path": "run-1/../abs"})["path"] == str(root / "abs")


def test_the_root_resolves_symlinks_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    root = CheckpointRoot(tmp_path / "link")
    assert root.root == tmp_path / "real"
    assert root.resolve(str(tmp_path / "link" / "a")) == tmp_path / "real" / "a"
    assert root.resolve("b/c") == tmp_path / "real" / "b" / "c"


def test_default_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from multigym_worker.paths import default_checkpoint_dir

    monkeypatch.delenv("MULTIGYM_CHECKPOINT_DIR", raising=False)
    monkeypatch.setenv("MULTIGYM_HOME", str(tmp_path))
    assert default_checkpoint_dir() == tmp_path / "checkpoints"
    monkeypatch.setenv("MULTIGYM_CHECKPOINT_DIR", str(tmp_path / "x"))
    assert default_checkpoint_dir() == tmp_path / "x"
    monkeypatch.delenv("MULTIGYM_CHECKPOINT_DIR")
    monkeypatch.delenv("MULTIGYM_HOME")
    assert default_checkpoint_dir() == Path(".multigym/checkpoints")


# ---- token and binding setup ------------------------------------------------------------------------


def test_token_sources_and_precedence(tmp_path: Path) -> None:
    f = tmp_path / "tok"
    f.write_text("from-file\n")
    assert resolve_token(None, None, {}) is None
    assert resolve_token(None, None, {"MULTIGYM_POLICY_TOKEN": "env"}) == "env"
    assert resolve_token(
        None, None, {"MULTIGYM_POLICY_TOKEN": "env", "MULTIGYM_POLICY_TOKEN_FILE": str(f)}
    ) == ("from-file")
    assert resolve_token("flag", None, {"MULTIGYM_POLICY_TOKEN_FILE": str(f)}) == "flag"
    assert resolve_token("flag", str(f), {}) == "from-file"
    (tmp_path / "empty").write_text("  \n")
    with pytest.raises(TokenConfigError, match="empty"):
        resolve_token(None, str(tmp_path / "empty"), {})
    with pytest.raises(TokenConfigError, match="cannot read"):
        resolve_token(None, None, {"MULTIGYM_POLICY_TOKEN_FILE": str(tmp_path / "missing")})


def test_a_public_address_without_a_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MULTIGYM_POLICY_TOKEN", raising=False)
    monkeypatch.delenv("MULTIGYM_POLICY_TOKEN_FILE", raising=False)
    with pytest.raises(SystemExit, match="without a token"):
        access_token(parse_args(["--host", "0.0.0.0"]))
    with pytest.raises(SystemExit, match="without a token"):
        access_token(parse_args(["--host", "192.168.1.10"]))
    assert access_token(parse_args(["--host", "0.0.0.0", "--allow-unauthenticated"])) is None
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert access_token(parse_args(["--host", host])) is None
    monkeypatch.setenv("MULTIGYM_POLICY_TOKEN", TOKEN)
    assert access_token(parse_args(["--host", "0.0.0.0"])) == TOKEN


def test_the_default_binding_is_loopback() -> None:
    assert parse_args([]).host == "127.0.0.1"
