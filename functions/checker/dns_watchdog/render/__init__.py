"""Renderers: facts into words (e-mail text, JSON document, chat). Import the domain only."""
