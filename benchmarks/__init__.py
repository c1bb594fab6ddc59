"""Benchmarks: HumanEval, MBPP, MBPP+ and spec folders as task suites, pass@k, the bench driver and its reports."""
