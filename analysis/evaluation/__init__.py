"""Evaluation on scores tables: metrics, bootstrap intervals, ensembles, diversity, the
study's tables and the numbers the model cards publish."""
