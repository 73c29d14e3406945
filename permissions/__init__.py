"""Roles, jurisdiction, field rules, masking, API tokens and the audit of reads."""
