"""`manifestkit webhook`: the pattern registry of `render` and `inject`, served as a mutating admission webhook."""
