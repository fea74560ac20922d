"""Local Codes: when selective units emerge in neural networks, and how to measure selectivity."""
__version__ = "0.1.0"
