"""Weighing scale protocols (Toledo 8217, MT-SICS, CAS ECR type 6) and weight barcodes, sans-I/O."""
