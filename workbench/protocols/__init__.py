"""Evaluation protocols from the literature, applied to episodes and traces."""

from workbench.protocols.tosses import TossProtocol, prepare_toss, score_tosses

__all__ = ["TossProtocol", "prepare_toss", "score_tosses"]
