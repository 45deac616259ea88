"""Fiscalisation: the durable queue of fiscal documents, the sales flow's side of it, signing
services' stores and the ErpNet.FP-compatible API's tasks."""
