"""`exchange demo`: demo departments with synthetic data on real adapters, and one application end to end."""
