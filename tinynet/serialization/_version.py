"""The model file format's name and version, on their own so that anything may import them
without importing the reader and writer (see docs/file-format.md)."""

#: The ``format`` field of every tinynet model file's manifest.
FORMAT_NAME = "tinynet-model"
#: The format version this tinynet writes (and the newest it reads).
FORMAT_VERSION = 1
