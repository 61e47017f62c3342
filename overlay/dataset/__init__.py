"""Training data from the vault (`overlay dataset export`)."""
