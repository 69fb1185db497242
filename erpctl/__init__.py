"""Offline tooling for the ERP platform: plan, policy check and config schema, no cloud needed."""
