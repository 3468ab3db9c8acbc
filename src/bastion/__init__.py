"""Bastion: a self-hostable Python package index that protects the projects everyone depends on."""
