"""The reference every method is graded against, and the grading: high-precision values and
derivatives (mpmath, quad precision, Taylor directions) and accuracy.  Never imports
harness.methods: the reference is independent of every method under test.
"""
