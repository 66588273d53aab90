"""Pure decisions: plain data in, results out. Imports nothing of the checker but `constants`."""
