"""Tools beside the pipeline: the synthetic stream, the topic catalogue, hand-made input lines
and a worker launcher shared by the benchmarks and the tests."""
