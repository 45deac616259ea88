"""Simulated weighing scales (Toledo 8217, MT-SICS, CAS ECR type 6) on a pseudo-terminal."""
