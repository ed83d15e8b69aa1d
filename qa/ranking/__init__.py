"""Ranking: a question made ready, fusion of the two retrievers, the second stage (rules or learned), the
calibrated decision to answer or abstain, and the cited passages and answer it returns."""
