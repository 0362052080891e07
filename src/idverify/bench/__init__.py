"""``idverify bench``: accuracy and speed measurements on public data, each next to a peer in the same run."""
