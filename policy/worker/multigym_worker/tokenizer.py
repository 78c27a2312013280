"""Tokenizers of the policy worker: the built-in byte-level BPE and any Hugging Face tokenizer directory.

Both are wrapped in `PolicyTokenizer`, which knows the chat template, the end-of-sequence ids that
stop a sample, and the `<think>` / `</think>` ids used by the reasoning budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

#: Special tokens of the built-in tokenizer, in id order (ids 0..8). `<|bos|>` opens every text.
SPECIAL_TOKENS = (
    "<|bos|>",
    "<|eos|>",
    "<|pad|>",
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
)

#: ChatML-like template of the built-in models (Jinja, as Hugging Face's `chat_template`).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

ASSET = Path(__file__).resolve().parent / "assets" / "tokenizer.json"


def builtin_hf_tokenizer() -> PreTrainedTokenizerFast:
    """The built-in tokenizer (trained by `scripts/train_tokenizer.py`) as a HF fast tokenizer."""
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(ASSET),
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        pad_token="<|pad|>",
        additional_special_tokens=list(SPECIAL_TOKENS[3:]),
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


class PolicyTokenizer:
    """Encoding, decoding and chat templating for one model.

    Args:
        hf: a Hugging Face tokenizer with a chat template.
        name: what `/v1/info` reports.
        extra_eos: further ids that end a sample (e.g. from the model's generation config).
    """

    def __init__(self, hf: PreTrainedTokenizerBase, name: str, extra_eos: Sequence[int] = ()) -> None:
        self.hf = hf
        self.name = name
        eos: set[int] = set(extra_eos)
        if hf.eos_token_id is not None:
            eos.add(int(hf.eos_token_id))
        self.chat_end_id = self._single_id("<|im_end|>")
        if self.chat_end_id is not None:
            eos.add(self.chat_end_id)
        #: Ids that end a sample with finish_reason `eos`.
        self.eos_ids = sorted(eos)
        self.think_open_id = self._single_id("<think>")
        self.think_close_id = self._single_id("</think>")
        self.pad_id = int(hf.pad_token_id if hf.pad_token_id is not None else self.eos_ids[0])
        #: Vocabulary size including added tokens.
        self.vocab_size = len(hf)

    @classmethod
    def builtin(cls) -> PolicyTokenizer:
        """The committed byte-level BPE of the built-in models."""
        return cls(builtin_hf_tokenizer(), "multigym-bpe-4k")

    @classmethod
    def from_dir(cls, path: str | Path, extra_eos: Sequence[int] = ()) -> PolicyTokenizer:
        """A tokenizer saved with `save_pretrained` in `path`; it must have a chat template."""
        hf = AutoTokenizer.from_pretrained(str(path))
        return cls(hf, str(path), extra_eos)

    def _single_id(self, token: str) -> int | None:
        ids = self.hf.convert_tokens_to_ids([token])
        tid = ids[0] if ids else None
        if tid is None or tid == self.hf.unk_token_id:
            return None
        return int(tid)

    def encode_prompt(self, text: str) -> list[int]:
        """Token ids of a raw text prompt, with the model's usual special tokens (e.g. BOS)."""
        return list(self.hf(text, add_special_tokens=True)["input_ids"])

    def encode_text(self, text: str) -> list[int]:
        """Token ids of a text piece without special tokens (for completions)."""
        return list(self.hf(text, add_special_tokens=False)["input_ids"])

    def render_chat(self, messages: Sequence[dict[str, Any]], add_generation_prompt: bool = True) -> str:
        """The chat template applied to `messages`, as text."""
        return self.hf.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=add_generation_prompt
        )

    def encode_chat(
        self, messages: Sequence[dict[str, Any]], add_generation_prompt: bool = True
    ) -> list[int]:
        """Token ids of a templated conversation, with a generation prompt by default."""
        return self.encode_text(self.render_chat(messages, add_generation_prompt))

    def completion_end_id(self, chat: bool) -> int:
        """The id that ends a completion: `<|im_end|>` in chats (when it exists), EOS otherwise."""
        if chat and self.chat_end_id is not None:
            return self.chat_end_id
        return int(self.hf.eos_token_id if self.hf.eos_token_id is not None else self.eos_ids[0])

    def decode(self, ids: Sequence[int]) -> str:
        """Text of `ids`, special tokens kept (so `<think>` tags stay visible)."""
        return self.hf.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)
