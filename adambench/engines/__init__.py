"""Engines: what runs optimizers over many steps (the online regret protocol, training)."""
