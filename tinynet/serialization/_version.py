"""The model file format's name and version, on their own so that anything may import them
without importing the reader and writer (see docs/file-format.md)."""

#: The ``format`` field of every tinynet model file's manifest.
FORMAT_NAME = "tinynet-model"
#: The newest format version this tinynet writes and reads.  It writes the oldest version that
#: holds the file: 1, or 2 with callback states, or 3 with a model card, or 4 with frozen layers,
#: GELU or LeakyReLU layers (whose configs version 4 changed), or 5 for a functional model (tn.Model,
#: whose graph version 5 added), or 6 with int8 kernels (a model made by tn.quantize: version 6 packs
#: every array into one buffer, see _packed.py; version 3 files with separate int8 arrays still load),
#: or 7 for a compiled model with several outputs (the per-output compile section,
#: ``compile.outputs``).  A model with several outputs saved without its compile settings keeps
#: version 5 (or 6 when quantized).
FORMAT_VERSION = 7
