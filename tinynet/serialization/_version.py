"""The model file format's name and version, on their own so that anything may import them
without importing the reader and writer (see docs/file-format.md)."""

#: The ``format`` field of every tinynet model file's manifest.
FORMAT_NAME = "tinynet-model"
#: The newest format version this tinynet writes and reads.  It writes the oldest version that
#: holds the file: 1, or 2 with callback states, or 3 with int8 kernels or a model card, or 4 with
#: frozen layers, GELU or LeakyReLU layers (whose configs version 4 changed), or 5 for a functional
#: model (tn.Model, whose graph version 5 added), or 7 for a compiled model with several outputs
#: (the per-output compile section, ``compile.outputs``, version 7 added; version 6 is the packed
#: quantized format of another change).  A model with several outputs saved without its compile
#: settings keeps version 5.
FORMAT_VERSION = 7
