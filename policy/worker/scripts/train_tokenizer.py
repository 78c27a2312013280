"""Trains the built-in byte-level BPE tokenizer once; the result is committed as an asset.

Run from the repository root::

    .venv/bin/python policy/worker/scripts/train_tokenizer.py

It reads the shared evaluation corpora (GSM8K, MATH-500, HumanEval, MBPP, BFCL, Gutenberg books) from
``/work/shared/data`` (or ``$MULTIGYM_DATA``) and writes
``policy/worker/multigym_worker/assets/tokenizer.json``. Byte-level BPE (Radford et al. 2019, GPT-2)
with digits split one by one, so arithmetic sees single-digit tokens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from multigym_worker.tokenizer import SPECIAL_TOKENS

VOCAB_SIZE = 4096


def corpus(root: Path) -> Iterator[str]:
    """Yields text documents from the shared data folders."""
    for line in (root / "gsm8k" / "train.jsonl").read_text().splitlines():
        rec = json.loads(line)
        yield rec["question"] + "\n" + rec["answer"]
    for line in (root / "math500" / "test.jsonl").read_text().splitlines():
        rec = json.loads(line)
        yield rec["problem"] + "\n" + rec["solution"]
    for line in (root / "humaneval" / "HumanEval.jsonl").read_text().splitlines():
        rec = json.loads(line)
        yield rec["prompt"] + rec["canonical_solution"] + rec["test"]
    for line in (root / "mbpp" / "mbpp.jsonl").read_text().splitlines():
        rec = json.loads(line)
        yield rec["text"] + "\n" + rec["code"] + "\n" + "\n".join(rec["test_list"])
    for path in sorted((root / "bfcl").glob("*.json")):
        yield from path.read_text().splitlines()
    for path in sorted((root / "haystack_gutenberg").glob("*.txt")):
        text = path.read_text()
        for i in range(0, len(text), 4000):
            yield text[i : i + 4000]


def build(root: Path) -> Tokenizer:
    """Trains the tokenizer on `root`'s corpora."""
    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\d"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(root), trainer=trainer)
    bos = SPECIAL_TOKENS[0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    return tok


if __name__ == "__main__":
    data = Path(os.environ.get("MULTIGYM_DATA", "/work/shared/data"))
    out = Path(__file__).resolve().parent.parent / "multigym_worker" / "assets" / "tokenizer.json"
    tokenizer = build(data)
    tokenizer.save(str(out), pretty=False)
    print(f"wrote {out} ({tokenizer.get_vocab_size()} tokens, {out.stat().st_size} bytes)")
