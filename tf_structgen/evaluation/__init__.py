"""Scoring models: assignment accuracy, reports and the paper's figures."""
